#!/usr/bin/env bash
# Installs what the peer harnesses and the Fashion-MNIST dataset need, from Debian's packages:
# the hnswlib headers and a C++ compiler, FAISS for Python, and the Fashion-MNIST IDX files.
# Idempotent: installs only what is missing. Needs root (or sudo).
set -euo pipefail
need=()
for pkg in libhnswlib-dev g++ python3-faiss python3-numpy dataset-fashion-mnist; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
sudo_=""
[ "$(id -u)" -ne 0 ] && sudo_="sudo"
echo "installing ${need[*]}" >&2
$sudo_ apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -q "${need[@]}" >&2
