#!/usr/bin/env bash
# test.sh — the test command: install what is missing (Debian packages, as
# root), build the release and the ASan+UBSan configurations, run the suite
# in both. Exit status 0 only if every test passed in both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-brown   # the suite needs no corpus
make -j2 test
