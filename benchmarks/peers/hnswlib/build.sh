#!/usr/bin/env bash
# Builds the hnswlib peer harness, as fast as the compiler makes it:
#   build.sh           against Debian's libhnswlib-dev headers (0.6.2)     -> bin/hnswlib_bench
#   build.sh --filter  against hnswlib 0.8.0, whose searchKnn takes a filter -> bin/hnswlib_filter_bench
# HNSWLIB_CXXFLAGS adds compiler flags: HNSWLIB_CXXFLAGS=-mno-avx512f builds the AVX2 peer of a run with
# DOTNET_EnableAVX512=0 (.NET 10; DOTNET_EnableAVX512F=0 on .NET 8 and 9) on an AVX-512 machine (hnswlib picks its AVX-512 kernels at compile time). The runner builds
# bin/hnswlib_bench only when it is missing: run this script again without the flag to go back.
# Debian has no hnswlib with filters; hnswlib-node 3.0.0 on npm ships the 0.8.0 headers (src/hnswlib/), so
# --filter takes them from there (npm pack, nothing installed).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$here/bin"
if [ "${1:-}" = "--filter" ]; then
    headers="$here/bin/hnswlib-0.8.0"
    if [ ! -f "$headers/hnswlib/hnswlib.h" ]; then
        if ! command -v npm >/dev/null; then
            echo "installing npm (Debian) to fetch the hnswlib 0.8.0 headers" >&2
            sudo_=""
            [ "$(id -u)" -ne 0 ] && sudo_="sudo"
            $sudo_ apt-get update -q >&2
            DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -q npm >&2
        fi
        work="$(mktemp -d)"
        (cd "$work" && npm pack --silent hnswlib-node@3.0.0 >/dev/null && tar xzf hnswlib-node-3.0.0.tgz)
        mkdir -p "$headers/hnswlib"
        cp "$work"/package/src/hnswlib/*.h "$headers/hnswlib/"
        cp "$work"/package/LICENSE "$headers/" 2>/dev/null || true
        rm -rf "$work"
    fi
    g++ -O3 -march=native ${HNSWLIB_CXXFLAGS:-} -DNDEBUG -DHNSWLIB_FILTER -std=c++17 -I "$headers" \
        -o "$here/bin/hnswlib_filter_bench" "$here/hnswlib_bench.cpp" -lpthread >&2
else
    g++ -O3 -march=native ${HNSWLIB_CXXFLAGS:-} -DNDEBUG -std=c++17 -o "$here/bin/hnswlib_bench" "$here/hnswlib_bench.cpp" -lpthread >&2
fi
