#!/usr/bin/env bash
# The whole test suite on a fresh machine: a virtual environment with the project, its test and GGUF
# extras, Debian's Chromium for the browser tests, then pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test,gguf]"

if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

export TOKENIZERS_PARALLELISM=false
exec .venv/bin/python -m pytest "$@"
