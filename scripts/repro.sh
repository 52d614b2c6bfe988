#!/usr/bin/env bash
# Quick start, command 1: set everything up, then reproduce the whole pipeline with DVC on the
# data selected in params.yaml (the embedded synthetic data by default). Extra arguments go to
# `dvc repro` (e.g. `./scripts/repro.sh report`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
start=$(date +%s)
uv run --frozen dvc repro "$@"
echo "dvc repro finished in $(( $(date +%s) - start )) s; report: data/08_reporting/report.html"
