#!/usr/bin/env bash
# devcheck.sh — the fastlif GPU check for a 1-GPU H100/H200 machine (torch+cu13, triton, nvcc, ninja, pytest,
# compute-sanitizer, ncu preinstalled; no internet). Run it FROM THE PROJECT ROOT:  make gpu-check
# (or bash tools/gpu_check/devcheck.sh).
#
# Steps (each one runs whatever happened before; a failure or timeout is recorded in summary.txt and the next
# step starts). Select with DEVCHECK_STEPS="build tests ..." (default: all, in this order):
#   env       GPU, driver, clocks, nvcc/torch/triton versions, tool availability
#   build     pip install -e . --no-build-isolation with FASTLIF_CUDA=1, TORCH_CUDA_ARCH_LIST=9.0 (sm_90 only), in
#             place; asserts built_with_cuda() and prints cpu_isa(); appends per-kernel registers/stack to build.log
#   tests     pytest python_tests/test_lif_cuda.py test_lif_triton.py test_op_contract.py test_lif_cpu.py (xdist
#             when available; the CPU file because a GPU box's host CPU may run the avx512 kernels never run yet)
#   sanitize  compute-sanitizer memcheck over sanitize_cases.py, with the caching allocator off so that
#             out-of-bounds writes past a tensor are visible (initcheck of the same cases runs last, if time is left)
#   extra     extra_checks.py: kernel path taken, no zero-filled gradients, streaming inference writes no h, T = 0,
#             stream order, CUDA-graph capture, N >= 2^31 with T*N > 2^31, Triton at N = 2^18, CPU/GPU bitwise,
#             bandwidth by direct op calls  -> extra.json
#   bench     python -m bench.run --parts kernels (fastlif-cuda, fastlif-triton, reference; SpikingJelly is
#             skipped with a logged reason when not installed)  -> kernels.csv, kernels.md
#   ncu       Nsight Compute on ncu_cases.py: time, DRAM bytes, registers, occupancy, issue use  -> ncu.csv
#
# Output ($OUT, default ./devcheck-out; eight files): summary.txt,
# devcheck.log (everything), build.log, extra.json, kernels.csv, kernels.md, sanitizer.log, ncu.csv.
# Time: DEVCHECK_BUDGET seconds in all (default 450); each step gets min(its cap, what is left); a step that
# would start with < 20 s left is skipped. Allow the call about 60 s above the budget.
set -u -o pipefail
KIT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)   # this folder: the helper scripts
ROOT=$(pwd)                                         # the project root
[ -f setup.py ] && [ -d fastlif ] || { echo "run from the project root"; exit 1; }
export KIT
OUT=${OUT:-$ROOT/devcheck-out}
mkdir -p "$OUT"
BUDGET=${DEVCHECK_BUDGET:-450}
STEPS=${DEVCHECK_STEPS:-env build tests sanitize extra bench ncu}
PY=${PYTHON:-python3}
START=$(date +%s)
LOG=$OUT/devcheck.log
SUM=$OUT/summary.txt
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
export MAX_JOBS=${MAX_JOBS:-16} FASTLIF_CUDA=1
unset TRITON_INTERPRET GPU_CHECK_DEVICE  # compiled Triton, CUDA tensors: this is the real run, not the dry run
echo "devcheck $(date -u +%FT%TZ) steps: $STEPS budget ${BUDGET}s root $ROOT" | tee -a "$SUM" >>"$LOG"

left() { echo $(( BUDGET - ($(date +%s) - START) )); }
want() { [[ " $STEPS " == *" $1 "* ]]; }
# run_step NAME CAP_SECONDS COMMAND-STRING: bash -c COMMAND under timeout, output appended to devcheck.log.
run_step() {
  local name=$1 cap=$2 cmd=$3 l t0 rc
  l=$(left)
  if (( l < 20 )); then echo "$name SKIPPED (budget: ${l}s left)" | tee -a "$SUM" "$LOG"; return 0; fi
  (( cap > l )) && cap=$l
  echo "===== [$name] (cap ${cap}s) $cmd" >>"$LOG"
  t0=$(date +%s)
  timeout -k 15 "$cap" bash -c "$cmd" >>"$LOG" 2>&1
  rc=$?
  local verdict=ok
  (( rc == 124 || rc == 137 )) && verdict=TIMEOUT
  (( rc != 0 && rc != 124 && rc != 137 )) && verdict=FAILED
  echo "$name $verdict rc=$rc $(( $(date +%s) - t0 ))s" | tee -a "$SUM" "$LOG"
  return 0
}

# Optional peers for the benchmark: wheels carried in .whl/ (spikingjelly==2.0.0 + loguru; its CUDA path uses the
# machine's CuPy), installed outside the tree. Without them the benchmark logs "skip spikingjelly-*" and goes on.
if ls .whl/*.whl >/dev/null 2>&1 && ! $PY -c "import spikingjelly" 2>/dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    >>"$LOG" 2>&1 && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH} && echo "peers: installed $(ls .whl)" >>"$LOG"
fi

# pytest options that exist here: xdist workers, per-test timeout, no cache dir in the tree.
PYTEST_OPTS="-q -rfE -p no:cacheprovider"
$PY -c "import xdist" 2>/dev/null && PYTEST_OPTS="$PYTEST_OPTS -n 6"
$PY -c "import pytest_timeout" 2>/dev/null && PYTEST_OPTS="$PYTEST_OPTS --timeout=240"
export PYTEST_OPTS PY OUT

want env && run_step env 40 '
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv
nvcc --version | tail -n 2
$PY -c "import torch, triton; p = torch.cuda.get_device_properties(0); print(\"torch\", torch.__version__, \"cuda\", torch.version.cuda, \"triton\", triton.__version__, p.name, p.multi_processor_count, \"SMs\", round(p.total_memory / 2**30), \"GiB\")"
for t in ninja cuobjdump compute-sanitizer ncu; do printf "%s: " $t; command -v $t || echo missing; done
$PY -c "import spikingjelly" 2>&1 | tail -n 1 || true
nproc; df -h . | tail -n 1'

# --no-deps: the box has no internet and the runtime deps are there already; CFLAGS=-g0 halves the C++ build;
# PIP_BREAK_SYSTEM_PACKAGES: a system Python marked externally managed would refuse the install on a throwaway box.
want build && run_step build 240 '
set -o pipefail
CFLAGS=${CFLAGS:--g0} PIP_BREAK_SYSTEM_PACKAGES=1 $PY -m pip install -v -e . --no-build-isolation --no-deps 2>&1 | tee "$OUT/build.log" | tail -n 25 || exit 1
$PY -c "import fastlif.ops as o; assert o.LOAD_ERROR is None, o.LOAD_ERROR; assert o.built_with_cuda(), \"built without CUDA\"; print(\"built_with_cuda OK; cpu_isa\", o.cpu_isa())" || exit 1
so=$(ls fastlif/_C*.so | head -n 1)
if command -v cuobjdump >/dev/null; then
  echo "--- cuobjdump --list-elf" >>"$OUT/build.log"; cuobjdump --list-elf "$so" >>"$OUT/build.log" 2>&1
  echo "--- resource usage (REG/STACK/SHARED/LOCAL per kernel)" >>"$OUT/build.log"
  cuobjdump --dump-resource-usage "$so" 2>&1 | grep -E "Function|REG" >>"$OUT/build.log"
  cuobjdump --dump-resource-usage "$so" 2>&1 | grep -oE "REG:[0-9]+" | sort | uniq -c | sort -k2 -t: -n | tail -n 8
  cuobjdump --dump-resource-usage "$so" 2>&1 | grep -E "STACK:[1-9]|LOCAL:[1-9]" | head -n 5 | sed "s/^/SPILL? /"
fi'

want tests && run_step tests 200 '
$PY -m pytest python_tests/test_lif_cuda.py python_tests/test_lif_triton.py python_tests/test_op_contract.py \
  python_tests/test_lif_cpu.py $PYTEST_OPTS'

if want sanitize; then
  run_step sanitize 90 '
command -v compute-sanitizer >/dev/null || { echo "compute-sanitizer missing"; exit 2; }
export PYTORCH_NO_CUDA_MEMORY_CACHING=1
set -o pipefail
compute-sanitizer --tool memcheck --leak-check no --error-exitcode 3 --print-limit 30 $PY "$KIT"/sanitize_cases.py 2>&1 | tee "$OUT/sanitizer.log" | tail -n 40'
fi

want extra && run_step extra 150 '$PY "$KIT"/extra_checks.py --out "$OUT/extra.json"'

want bench && run_step bench 100 '
$PY -m bench.run --parts kernels --T 1 4 16 --N 4194304 --dtypes fp32 bf16 \
  --modes forward backward full --providers fastlif-cuda fastlif-triton reference spikingjelly-cuda spikingjelly-triton \
  --budget 0.15 --min-reps 5 --out "$OUT" --no-plot --note "tools/gpu_check/devcheck.sh"'

want ncu && run_step ncu 70 '
command -v ncu >/dev/null || { echo "ncu missing"; exit 2; }
ncu --profile-from-start off --clock-control none --csv --log-file "$OUT/ncu.csv" \
  --metrics gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,sm__throughput.avg.pct_of_peak_sustained_elapsed,smsp__issue_active.avg.pct_of_peak_sustained_active,smsp__inst_executed.sum,launch__registers_per_thread,launch__occupancy_limit_registers,sm__warps_active.avg.pct_of_peak_sustained_active \
  $PY "$KIT"/ncu_cases.py
rc=$?
grep -cE "forward_kernel|backward_kernel|_lif_" "$OUT/ncu.csv" | sed "s/^/ncu rows: /"
exit $rc'

if want sanitize && command -v compute-sanitizer >/dev/null && (( $(left) > 80 )); then
  run_step initcheck 60 '
export PYTORCH_NO_CUDA_MEMORY_CACHING=1
set -o pipefail
{ echo "===== initcheck"; compute-sanitizer --tool initcheck --error-exitcode 3 --print-limit 30 $PY "$KIT"/sanitize_cases.py 2>&1; } | tee -a "$OUT/sanitizer.log" | tail -n 40'
fi

echo "total $(( $(date +%s) - START ))s" | tee -a "$SUM" "$LOG"
cat "$SUM"
exit 0
