#!/usr/bin/env bash
# Proof that the published package installs and runs without a compiler:
#   1. npm pack (its `prepare` step builds dist/), with the prebuilt binary of
#      this platform already in prebuilds/ (npm run prebuild);
#   2. the tarball holds dist/, prebuilds/, binding.gyp, native/build.json and
#      the native sources (for a source build where no prebuilt binary
#      matches), and no tests, bench or bench addon (native/bench/);
#   3. install it into an empty folder with install scripts disabled and a
#      PATH that holds node and npm only (no cc, c++, make, python3);
#   4. from there: import (ESM) and require (CJS) work, the prebuilt binary is
#      the one loaded, backendInfo() prints, and the tutorial walkthrough
#      prints exactly what `npm run demo` prints in the source tree;
#   5. the fallback for platforms without a prebuilt binary: the same tarball
#      installed with install scripts and --build-from-source compiles the
#      addon from the shipped sources and loads build/Release;
#   6. with NORMKIT_ARM64_NODE_DIR (a folder from scripts/arm64-node.sh) and a
#      linux-arm64 prebuild in the tarball: the same three scripts once more
#      in arm64 Node under qemu, loading the linux-arm64 binary.
# Usage: bash scripts/pack-install-proof.sh   (from anywhere; run by .ci/run)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

platform_arch="$(node -p 'process.platform + "-" + process.arch')"
if ! ls "prebuilds/$platform_arch/"*.node >/dev/null 2>&1; then
  echo "pack-install-proof: no prebuilds/$platform_arch/*.node; run npm run prebuild first" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "-- npm pack"
tarball="$(npm pack --pack-destination "$work" --silent | tail -1)"
tarball="$work/$tarball"
tar -tzf "$tarball" | sed 's|^package/||' | sort > "$work/contents.txt"
echo "$(wc -l < "$work/contents.txt") files, $(du -k "$tarball" | cut -f1) KiB"

echo "-- tarball contents"
failures=0
require_file() {
  if ! grep -qxF "$1" "$work/contents.txt"; then
    echo "missing from the tarball: $1" >&2
    failures=$((failures + 1))
  fi
}
forbid_prefix() {
  if grep -q "^$1" "$work/contents.txt"; then
    echo "in the tarball but must not be: $1 ($(grep -c "^$1" "$work/contents.txt") files)" >&2
    failures=$((failures + 1))
  fi
}
for f in package.json README.md binding.gyp native/build.json dist/index.js dist/index.mjs \
         dist/index.d.ts dist/index.d.mts; do
  require_file "$f"
done
for f in prebuilds/"$platform_arch"/*.node; do require_file "$f"; done
# Every source the addon is compiled from (the source-build fallback needs them
# all), with the headers they include; the bench's addon is not shipped.
node -e '
const v = require(process.argv[1]).variables;
for (const group of ["normkit_kernel_sources", "normkit_simd_sources", "normkit_binding_sources"]) {
  for (const src of v[group]) console.log(src);
}' "$root/native/build.json" > "$work/sources.txt"
while read -r src; do require_file "$src"; done < "$work/sources.txt"
for h in native/kernels/*.h native/binding/*.h; do require_file "$h"; done
for prefix in test/ bench/ native/bench native/tests/ examples/ scripts/ build/ build-cmake/ .ci/ \
              node_modules/ CMakeLists.txt cmake/; do
  forbid_prefix "$prefix"
done
if grep -q '\.addon$' "$work/contents.txt"; then
  echo "in the tarball but must not be: the bench's addon ($(grep '\.addon$' "$work/contents.txt"))" >&2
  failures=$((failures + 1))
fi
if [ "$failures" -ne 0 ]; then
  echo "pack-install-proof: tarball check failed ($failures)" >&2
  exit 1
fi
echo "tarball OK"

echo "-- install with --ignore-scripts and no compiler on the PATH"
bin="$work/bin"
mkdir -p "$bin"
ln -s "$(command -v node)" "$bin/node"
ln -s "$(command -v npm)" "$bin/npm"
app="$work/app"
mkdir -p "$app"
cp scripts/install-proof/esm.mjs scripts/install-proof/cjs.cjs scripts/install-proof/walkthrough.mjs "$app/"
printf '{ "name": "normkit-install-proof", "version": "1.0.0", "private": true }\n' > "$app/package.json"
# env -i: nothing of this shell (npm_config_*, CC, PATH) reaches the install;
# HOME keeps npm's cache and registry settings.
in_app() {
  (cd "$app" && env -i HOME="$HOME" PATH="$bin" "$@")
}
for tool in cc gcc c++ g++ make python3 node-gyp; do
  if in_app /bin/sh -c "command -v $tool" >/dev/null 2>&1; then
    echo "pack-install-proof: $tool is reachable on the stripped PATH" >&2
    exit 1
  fi
done
in_app npm install --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error "$tarball"
if [ -d "$app/node_modules/normkit/build" ]; then
  echo "pack-install-proof: a build/ folder appeared in the installed package" >&2
  exit 1
fi

echo "-- require (CJS)"
in_app node cjs.cjs
echo "-- import (ESM)"
in_app node esm.mjs
echo "-- tutorial walkthrough from the installed package"
in_app node walkthrough.mjs > "$work/walkthrough.out"
cat "$work/walkthrough.out"
if [ "${NORMKIT_PROOF_SKIP_DEMO_DIFF:-0}" != 1 ]; then
  # Same seed, same code: the installed package must print what the source
  # tree's `npm run demo` prints.
  npm run --silent demo > "$work/demo.out" 2>/dev/null
  if ! diff -u "$work/demo.out" "$work/walkthrough.out"; then
    echo "pack-install-proof: the installed walkthrough differs from npm run demo" >&2
    exit 1
  fi
  echo "walkthrough output identical to npm run demo"
fi
echo "-- source fallback: install scripts on, --build-from-source"
src_app="$work/app-source"
mkdir -p "$src_app"
cp scripts/install-proof/cjs.cjs scripts/install-proof/walkthrough.mjs "$src_app/"
printf '{ "name": "normkit-source-proof", "version": "1.0.0", "private": true }\n' > "$src_app/package.json"
# npm passes build_from_source to the package's install script
# (node-gyp-build), which then runs node-gyp instead of using prebuilds/.
(cd "$src_app" && npm_config_build_from_source=true \
   npm install --no-audit --no-fund --prefer-offline --loglevel=error "$tarball")
(cd "$src_app" && NORMKIT_PROOF_EXPECT=source node cjs.cjs)
# The package has no native/bench/, so binding.gyp built the addon alone.
if ls "$src_app/node_modules/normkit/build/Release/"*.addon >/dev/null 2>&1; then
  echo "pack-install-proof: the source build made the bench's addon" >&2
  exit 1
fi
(cd "$src_app" && node walkthrough.mjs 2>/dev/null) > "$work/walkthrough-source.out"
if ! diff -q "$work/walkthrough.out" "$work/walkthrough-source.out" >/dev/null; then
  diff -u "$work/walkthrough.out" "$work/walkthrough-source.out" >&2 || true
  echo "pack-install-proof: the source-built package prints something else than the prebuilt one" >&2
  exit 1
fi
echo "source-built walkthrough identical to the prebuilt one"

if [ -n "${NORMKIT_ARM64_NODE_DIR:-}" ]; then
  require_file prebuilds/linux-arm64/normkit.node
  [ "$failures" -eq 0 ] || exit 1
  echo "-- the same package in arm64 Node under qemu"
  in_app "$(command -v qemu-aarch64)" -L "$NORMKIT_ARM64_NODE_DIR" "$NORMKIT_ARM64_NODE_DIR/usr/bin/node" cjs.cjs
  in_app "$(command -v qemu-aarch64)" -L "$NORMKIT_ARM64_NODE_DIR" "$NORMKIT_ARM64_NODE_DIR/usr/bin/node" esm.mjs
  # NEON sums in another order than AVX-512, so the last digits of values
  # near 0 may differ from the x64 output; the run itself must succeed.
  in_app "$(command -v qemu-aarch64)" -L "$NORMKIT_ARM64_NODE_DIR" "$NORMKIT_ARM64_NODE_DIR/usr/bin/node" \
    walkthrough.mjs > "$work/walkthrough-arm64.out"
  tail -1 "$work/walkthrough-arm64.out"
fi
echo "pack-install-proof OK"
