#!/usr/bin/env bash
# Quick start, command 2: set everything up, then run the test suite (lint included).
# Extra arguments go to pytest (e.g. `./scripts/test.sh tests/retrieval -q`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
uv run --frozen ruff check src tests benchmarks
# The browser tests (tests/pipelines/test_end_to_end.py) drive Debian's headless `chromium`.
# Install it when missing and possible (root, apt); otherwise they skip and say why.
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing chromium for the browser tests ..."
        { apt-get update -qq && apt-get install -y -qq chromium; } >/dev/null 2>&1 \
            || echo "chromium could not be installed: the browser tests will be skipped"
    else
        echo "chromium missing and not installable here (needs root and apt-get):" \
             "the browser tests will be skipped"
    fi
fi
uv run --frozen pytest "$@"
