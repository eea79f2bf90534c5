#!/usr/bin/env bash
# Prebuilt binaries: prebuilds/linux-<arch>/normkit.node, built by prebuildify
# (node-gyp, Node-API 8, stripped). A Node-API binary loads in every Node
# release with Node-API >= 8, so one build per platform/arch serves all of
# them; node-gyp-build picks it at require time and npm install's
# `node-gyp-build` step skips the compiler when it matches.
#
#   bash scripts/prebuild.sh          the host's arch (npm run prebuild)
#   bash scripts/prebuild.sh arm64    cross-compiled with Debian's g++-aarch64-linux-gnu
#                                     (npm run prebuild:arm64)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

host_arch="$(node -p process.arch)"
arch="${1:-$host_arch}"
# The installed Node, not prebuildify's default (the newest Node it knows):
# node-gyp would try to download that release's headers.
target="$(node -p process.versions.node)"

# node-gyp builds against the headers of a Node installation (nodedir);
# without one it downloads them, which fails on a machine without internet.
# npm passes its own nodedir setting along; when run outside npm, use the
# running Node's headers.
if [ -z "${npm_config_nodedir:-}" ]; then
  for dir in "$(dirname "$(dirname "$(command -v node)")")" /usr /usr/local; do
    if [ -f "$dir/include/node/node_api.h" ]; then
      export npm_config_nodedir="$dir"
      break
    fi
  done
fi

# prebuildify looks for node-gyp next to itself or on the PATH; npm puts its
# bundled copy on the PATH under `npm run`, so do the same when run directly.
if ! command -v node-gyp >/dev/null 2>&1 && [ -z "${PREBUILD_NODE_GYP:-}" ]; then
  npm_root="$(npm root -g)"
  if [ -f "$npm_root/npm/node_modules/node-gyp/bin/node-gyp.js" ]; then
    export PREBUILD_NODE_GYP="$npm_root/npm/node_modules/node-gyp/bin/node-gyp.js"
  fi
fi

prebuildify="$root/node_modules/prebuildify/bin.js"

if [ "$arch" = "$host_arch" ]; then
  node "$prebuildify" --napi --strip --target="$target"
  ls -l "prebuilds/linux-$arch"
  exit 0
fi

case "$arch" in
  arm64) triple=aarch64-linux-gnu ;;
  *) echo "prebuild.sh: no cross toolchain known for '$arch'" >&2; exit 2 ;;
esac
if ! command -v "$triple-g++" >/dev/null 2>&1; then
  echo "prebuild.sh: $triple-g++ not found (Debian: apt-get install g++-$triple)" >&2
  exit 2
fi

# node-gyp always builds into <package>/build, which holds the host's addon
# that the tests load (node-gyp-build prefers build/Release over prebuilds/).
# The cross build therefore runs in a scratch copy of the package's build
# inputs and only its prebuilds/ output comes back (--out).
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cp package.json binding.gyp "$scratch/"
mkdir -p "$scratch/native"
# What the published package holds (package.json "files"): no native/bench/,
# so binding.gyp leaves the bench's addon out, as in a user's source build.
cp -r native/kernels native/binding native/build.json "$scratch/native/"
ln -s "$root/node_modules" "$scratch/node_modules"

CC="$triple-gcc" CXX="$triple-g++" LINK="$triple-g++" AR="$triple-ar" \
  PREBUILD_STRIP_BIN="$triple-strip" \
  node "$prebuildify" "$scratch" --out "$root" --napi --strip --arch="$arch" --target="$target"

file "prebuilds/linux-$arch/"*.node 2>/dev/null || ls -l "prebuilds/linux-$arch"
