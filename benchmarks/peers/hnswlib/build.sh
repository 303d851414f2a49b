#!/usr/bin/env bash
# Builds the hnswlib peer harness against Debian's libhnswlib-dev headers, as fast as the compiler makes it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$here/bin"
g++ -O3 -march=native -DNDEBUG -std=c++17 -o "$here/bin/hnswlib_bench" "$here/hnswlib_bench.cpp" -lpthread >&2
