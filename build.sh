#!/usr/bin/env bash
# Install what memstudy needs on Debian 12 (as root, only what is missing) and build it.
#   ./build.sh            -> build/memstudy, build/memstudy-workload
set -euo pipefail
cd "$(dirname "$0")"

PKGS=(build-essential cmake pkg-config clang llvm bpftool
      libbpf-dev libelf-dev libdw-dev zlib1g-dev libjson-c-dev libcapstone-dev
      python3 strace util-linux gnuplot-nox)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	if [ "$(id -u)" != 0 ]; then
		echo "build.sh: missing packages: ${missing[*]}; run it with sudo to install them" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
