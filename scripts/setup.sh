#!/usr/bin/env bash
# setup.sh — install what entropic needs from Debian's packages, once.
# Runs apt-get as root (or through sudo); does nothing if all are present.
set -euo pipefail
# libcairo2-dev, fonts-dejavu-core, pkg-config: the pictures (PNG and SVG through cairo, text in DejaVu Sans).
# libopenmpi-dev, openmpi-bin: replica methods and data-parallel training over MPI ranks
# (the build falls back to one process without them; the MPI tests then skip).
# clang, libclang-rt-14-dev (libFuzzer, the sanitizers), libomp-14-dev: the fuzz targets (make fuzz, make check-fuzz).
pkgs=(gcc make libc6-dev libopenblas-openmp-dev zlib1g-dev liblapack-dev libcairo2-dev fonts-dejavu-core pkg-config dataset-fashion-mnist libopenmpi-dev openmpi-bin
      clang libclang-rt-14-dev libomp-14-dev)
# pkg-config also builds examples/ against a staged install in make check-install.
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all packages present (${pkgs[*]})"
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
