#!/usr/bin/env bash
# Install what memstudy needs on Debian 12 (as root, only what is missing) and build it.
#   ./build.sh             build/: memstudy, memstudy-workload, man pages, unit tests
#   ./build.sh --sanitize  build-asan/: the same with ASan and UBSan on memstudy itself
#   ./build.sh --fuzz      build-fuzz/: the libFuzzer targets of tests/fuzz (clang)
#   ./build.sh --package   build/ and build/memstudy_VERSION_amd64.deb (apt install ./...)
set -euo pipefail
cd "$(dirname "$0")"

mode=${1:-}
case "$mode" in
"" | --sanitize | --fuzz | --package) ;;
*)
	echo "build.sh: unknown option '$mode' (--sanitize, --fuzz or --package)" >&2
	exit 2
	;;
esac

PKGS=(build-essential cmake pkg-config clang llvm bpftool
      libbpf-dev libelf-dev libdw-dev zlib1g-dev libzstd-dev libjson-c-dev libcapstone-dev
      python3 strace util-linux gnuplot-nox clang-format libclang-rt-14-dev libc6-dbg
      libtcmalloc-minimal4 libmimalloc2.0 libjemalloc2
      kamailio libapr1-dev bpftrace redis-server redis-tools
      golang-go chromium)
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

# the HTML page's libraries (web/vendor.lock), from the npm registry, checked by sha256;
# npm is Debian's unless the machine has one already (nodejs from elsewhere brings its own)
if ! command -v npm >/dev/null; then
	if [ "$(id -u)" != 0 ]; then
		echo "build.sh: npm is missing; run it with sudo to install it" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
web/fetch.sh

case "$mode" in
--sanitize)
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEMSTUDY_SANITIZE=ON >/dev/null
	cmake --build build-asan -j"$(nproc)"
	;;
--fuzz)
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEMSTUDY_FUZZ=ON >/dev/null
	cmake --build build-fuzz -j"$(nproc)" --target fuzz-options fuzz-json fuzz-record
	;;
*)
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEMSTUDY_WERROR=ON >/dev/null
	cmake --build build -j"$(nproc)"
	if [ "$mode" = --package ]; then
		(cd build && cpack >/dev/null)
		ls build/memstudy_*.deb
	fi
	;;
esac
