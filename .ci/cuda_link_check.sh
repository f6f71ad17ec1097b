#!/usr/bin/env bash
# Builds and links the FULL fastlif._C extension with its CUDA kernels against the CUDA build of torch, on a
# machine without a GPU: a compile/link check, not a test run (python_tests/test_lif_cuda.py needs a device).
#
# The CUDA torch (~5.5 GB) lives in its own venv ($FASTLIF_CUDA_VENV, default /work/venv-cuda), never in the
# project's CPU test venv; the venv is created once and reused, so a second run only rebuilds the extension.
# Importing a CUDA torch needs no GPU, so the check ends by importing the built module and asking the operator
# registry whether the CUDA kernels were registered.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${FASTLIF_CUDA_VENV:-/work/venv-cuda}
TORCH_VERSION=2.14.1

find_cuda_home() {
  # /usr/local/bin/nvcc may be a wrapper script, so look for the toolkit folder itself.
  local d
  for d in "${CUDA_HOME:-}" /usr/local/cuda /usr/local/cuda-13*; do
    if [ -n "$d" ] && [ -x "$d/bin/nvcc" ]; then echo "$d"; return 0; fi
  done
  return 1
}
CUDA_HOME=$(find_cuda_home) || { echo "cuda_link_check: no CUDA toolkit (bin/nvcc) found; set CUDA_HOME" >&2; exit 1; }
export CUDA_HOME

has_cuda_torch() {
  "$VENV/bin/python" - "$TORCH_VERSION" <<'PY' 2>/dev/null
import sys, torch
sys.exit(0 if torch.__version__.split("+")[0] == sys.argv[1] and torch.version.cuda else 1)
PY
}
if [ ! -x "$VENV/bin/python" ] || ! has_cuda_torch; then
  echo "cuda_link_check: installing torch==$TORCH_VERSION (CUDA build) into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "torch==$TORCH_VERSION" ninja numpy setuptools wheel
  has_cuda_torch || { echo "cuda_link_check: $VENV has no CUDA build of torch $TORCH_VERSION" >&2; exit 1; }
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "cuda_link_check: building fastlif._C with CUDA_HOME=$CUDA_HOME in $WORK"
cd "$ROOT"
start=$(date +%s)
PATH="$VENV/bin:$PATH" FASTLIF_CUDA=1 CFLAGS=-g0 CXXFLAGS=-g0 MAX_JOBS=${MAX_JOBS:-2} \
  "$VENV/bin/python" setup.py -q build_ext --build-temp "$WORK/temp" --build-lib "$WORK/lib" >"$WORK/build.log" 2>&1 \
  || { tail -n 60 "$WORK/build.log"; echo "cuda_link_check: build failed" >&2; exit 1; }
echo "cuda_link_check: built in $(( $(date +%s) - start )) s"

SO=$(ls "$WORK"/lib/fastlif/_C*.so)
# Device code for both target architectures must be embedded. A minimal toolkit may lack cuobjdump; the
# Triton wheel that the CUDA torch pulls in ships one.
CUOBJDUMP=$(command -v "$CUDA_HOME/bin/cuobjdump" || true)
[ -n "$CUOBJDUMP" ] || CUOBJDUMP=$(ls "$VENV"/lib/python3*/site-packages/triton/backends/nvidia/bin/cuobjdump 2>/dev/null | head -n 1)
if [ -n "$CUOBJDUMP" ]; then
  elves=$("$CUOBJDUMP" --list-elf "$SO")
  for arch in sm_80 sm_90; do
    grep -q "$arch" <<<"$elves" || { echo "cuda_link_check: no $arch device code in $SO" >&2; exit 1; }
  done
  echo "cuda_link_check: device code for sm_80 and sm_90 present"
else
  echo "cuda_link_check: no cuobjdump found, architecture check skipped"
fi

# Import from outside the source tree (so the in-tree package does not shadow the built module). Python loads
# extensions with RTLD_NOW, so an unresolved symbol fails here.
cd "$WORK"
PYTHONPATH="$WORK/lib" "$VENV/bin/python" - <<'PY'
import torch
import fastlif._C  # noqa: F401  (registers the operators)

assert torch.ops.fastlif.built_with_cuda(), "the extension was built without WITH_CUDA"
for op in ("fastlif::lif_forward", "fastlif::lif_backward"):
    for key in ("CPU", "CUDA"):
        assert torch._C._dispatch_has_kernel_for_dispatch_key(op, key), f"{op} has no {key} kernel"
# The CPU kernel of the same build still runs: one neuron, decay 0.5, threshold 1 → h = 0.6, 1.3, 0.2.
s, h, u = torch.ops.fastlif.lif_forward(torch.tensor([[0.6], [1.0], [0.2]]), None, 0.5, 1.0, 0.0, 0, 0, 1.0,
                                        False, True, True)
assert s.flatten().tolist() == [0.0, 1.0, 0.0], s
assert torch.equal(u, torch.tensor([0.2])), u
print("cuda_link_check: OK — the CUDA extension builds, links and registers its kernels (torch",
      torch.__version__ + ", CUDA", torch.version.cuda + ")")
PY
