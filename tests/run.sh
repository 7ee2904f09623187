#!/usr/bin/env bash
# The whole test suite on a fresh machine: a virtual environment with the project, its test and GGUF
# extras, Debian's Chromium for the browser tests, then pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# llama.cpp built for the instruction sets, not -march=native: a native build uses AMX where the CPU
# has it, and crashes inside VMs that do not enable AMX (a segfault in ggml_backend_amx_mul_mat).
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON}"
.venv/bin/python -m pip install --quiet -e ".[test,gguf]"

if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

export TOKENIZERS_PARALLELISM=false
exec .venv/bin/python -m pytest "$@"
