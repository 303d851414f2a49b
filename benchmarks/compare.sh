#!/usr/bin/env bash
# The standard comparison in one command: installs the peers and the dataset from Debian's packages (once), then
# runs VectorIndex, hnswlib and FAISS on fashion-mnist-784-euclidean (M=16, efConstruction=200, k=10) and prints
# one table; CSV, JSON and an SVG plot go to benchmarks/results/. Extra arguments go to the runner, for example
#   benchmarks/compare.sh --filter 500,100,10,1 --save
# or another dataset: benchmarks/compare.sh clustered --n 1000000 --d 128 --queries 1000
set -euo pipefail
cd "$(dirname "$0")/.."
bash benchmarks/peers/install-deps.sh
dataset=fashion-mnist
if [ $# -gt 0 ] && [[ "$1" != --* ]]; then dataset="$1"; shift; fi
bash benchmarks/peers/hnswlib/build.sh
exec dotnet run -c Release --project benchmarks/VectorIndex.AnnBench -- "$dataset" \
    --peers hnswlib,faiss --M 16 --efc 200 --k 10 --threads 1,2 --ef 10,20,40,80,120,200,400 --repeat 3 "$@"
