#!/usr/bin/env bash
# Idempotent set-up for `make demo` / `make test`: a venv, torch (the CPU wheel when none is installed), the test
# and runtime dependencies that are missing, and the fastlif._C build when csrc/ changed.
# On a GPU box that already has torch (and maybe no network), the venv sees the system packages and installs
# nothing that is already importable.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${FASTLIF_VENV:-.venv}
PY=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
  if "$PY" -c "import torch" 2>/dev/null; then
    "$PY" -m venv --system-site-packages "$VENV"
  else
    "$PY" -m venv "$VENV"
  fi
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"

missing=()
need() {  # need <import name> <pip requirement>
  python -c "import $1" 2>/dev/null || missing+=("$2")
}
if ! python -c "import torch" 2>/dev/null; then
  pip install -q torch==2.13.0  # the CPU wheel on this project's machines; plain `torch` would pull CUDA
fi
need setuptools setuptools
need wheel wheel
need ninja ninja
need numpy numpy
need pytest pytest
need hypothesis hypothesis
need expecttest expecttest
need sklearn scikit-learn
need tqdm tqdm
need matplotlib matplotlib
need pytest_benchmark pytest-benchmark
# Triton's CPU interpreter needs 3.8.0 beside numpy >= 2.4; a GPU torch brings its own Triton, left as it is.
need triton "triton==3.8.0"
if [ ${#missing[@]} -gt 0 ]; then
  pip install -q "${missing[@]}"
fi
# The benchmark peers, without their dependencies: spikingjelly would otherwise pull a CUDA torch. A box with no
# network and no peers still builds and tests; the peer comparisons then say they were not run.
peers=()
python -c "import spikingjelly.activation_based" 2>/dev/null || peers+=("spikingjelly==2.0.0" loguru)
python -c "import snntorch" 2>/dev/null || peers+=("snntorch==1.0.0")
if [ ${#peers[@]} -gt 0 ]; then
  pip install -q --no-deps "${peers[@]}" || echo "bootstrap: could not install ${peers[*]} (benchmark peers)"
fi

so=$(ls fastlif/_C*.so 2>/dev/null | head -n 1 || true)
if [ -z "$so" ] || [ -n "$(find csrc setup.py -newer "$so" -type f 2>/dev/null | head -n 1)" ] \
   || ! python -c "import fastlif._C" 2>/dev/null; then
  CFLAGS="${CFLAGS:--g0}" pip install -q -e . --no-build-isolation --no-deps
fi
python -c "import fastlif; print('fastlif backends:', ', '.join(fastlif.backends()))"
