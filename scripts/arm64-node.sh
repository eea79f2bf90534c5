#!/usr/bin/env bash
# An arm64 Node.js to run under qemu-user: Debian's nodejs:arm64 and the
# libraries it links, unpacked (dpkg -x, not installed) into a folder that
# serves as qemu's sysroot. With it the linux-arm64 prebuilt binary is
# loaded by a real arm64 Node and exercised, not only compiled.
#
#   bash scripts/arm64-node.sh <dir>          prepares <dir> (once; reused after)
#   bash scripts/arm64-node.sh <dir> run ...  runs `node ...` from it under qemu
#
# Debian's Node (18 on bookworm) provides Node-API 9 >= the addon's 8. Needs
# root for apt-get (adds the arm64 architecture to apt's package lists; no
# arm64 package is installed on the system).
set -euo pipefail
dir="${1:?usage: arm64-node.sh <dir> [run node-args...]}"
shift
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

if [ "${1:-}" = run ]; then
  shift
  exec qemu-aarch64 -L "$dir" "$dir/usr/bin/node" "$@"
fi

if [ -x "$dir/usr/bin/node" ]; then
  echo "arm64 node already in $dir"
else
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
    apt-get update -qq
  elif ! apt-cache show nodejs:arm64 >/dev/null 2>&1; then
    apt-get update -qq
  fi
  # nodejs:arm64 and everything it needs at run time: the arm64 libraries and
  # the architecture-independent node-* modules Debian keeps outside the
  # binary (cjs-module-lexer, undici, acorn, ...). Tools pulled in by package
  # scripts (dpkg, tar, perl) are not needed to run node.
  packages="$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
                --no-breaks --no-replaces --no-enhances --no-pre-depends nodejs:arm64 |
              grep -vE '^\s|^<' |
              grep -E '^[^:]+:arm64$|^node-[^:]+$' |
              grep -vE '^(dpkg|tar|install-info|openssl|perl[^:]*):arm64$' | sort -u)"
  debs="$dir/.debs"
  mkdir -p "$debs"
  # apt's sandbox user cannot write into root-owned temp folders; download as root.
  (cd "$debs" && apt-get download -o APT::Sandbox::User=root $packages)
  for deb in "$debs"/*.deb; do dpkg -x "$deb" "$dir"; done
  rm -rf "$debs"
fi
qemu-aarch64 -L "$dir" "$dir/usr/bin/node" -p \
  '"arm64 node " + process.version + " (" + process.arch + ", Node-API " + process.versions.napi + ")"'
