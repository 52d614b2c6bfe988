#!/usr/bin/env bash
# Quick start, command 2: set everything up, then run the test suite (lint included).
# Extra arguments go to pytest (e.g. `./scripts/test.sh tests/retrieval -q`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
uv run --frozen ruff check src tests benchmarks
uv run --frozen pytest "$@"
