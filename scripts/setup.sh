#!/usr/bin/env bash
# Sets up everything the project needs on a fresh machine with Python 3.11: installs uv when it
# is missing, then the exact locked environment (uv.lock) into .venv. Safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v uv >/dev/null 2>&1; then
    export PATH="$HOME/.local/bin:$PATH"
    if ! command -v uv >/dev/null 2>&1; then
        echo "Installing uv (Python package manager) into ~/.local ..."
        python3 -m pip install --user --quiet "uv>=0.5" \
            || python3 -m pip install --user --quiet --break-system-packages "uv>=0.5"
    fi
fi

# --compile-bytecode: this machine sets PYTHONDONTWRITEBYTECODE, and without .pyc files every
# `kedro run` would spend ~30 s compiling torch, torchvision and mlflow from source.
uv sync --frozen --python 3.11 --compile-bytecode

# Kedro's telemetry cannot reach its server here and is not wanted: consent is "false" in
# .telemetry, and these variables switch it off for every tool that honours them.
export KEDRO_DISABLE_TELEMETRY=1 DO_NOT_TRACK=1
