# `make demo` and `make test` each do their own set-up (tools/bootstrap.sh: venv, torch if none, deps, build).
VENV ?= .venv
ACT = . $(VENV)/bin/activate &&

.PHONY: setup demo test test-python test-cpp bench bench-quick bench-cpu-kernel gpu-check clean

setup:
	@bash tools/bootstrap.sh

demo: setup
	$(ACT) python -m fastlif demo

test: setup test-python test-cpp

test-python:
	$(ACT) python -m pytest python_tests -q

# The torch-free kernel core and its C++ test (and the CUDA compile check when nvcc exists).
test-cpp:
	cmake -S . -B build-cmake -DCMAKE_BUILD_TYPE=Release > /dev/null
	cmake --build build-cmake -j 2
	cd build-cmake && ctest --output-on-failure

bench: setup
	$(ACT) python -m bench.run

bench-quick: setup
	$(ACT) python -m bench.run --quick

# Kernel-only CPU timing (bench/cpu_kernel.cpp): built in seconds, no torch; for trying kernel changes. The best
# vector width this CPU has, 512-bit where it has AVX-512, as the extension's avx512 copy is built.
bench-cpu-kernel:
	mkdir -p build-bench
	$(CXX) -O3 -march=native -mprefer-vector-width=512 -fopenmp -ffp-contract=off -fno-trapping-math -std=c++17 \
		bench/cpu_kernel.cpp -o build-bench/cpu_kernel
	./build-bench/cpu_kernel 1 && ./build-bench/cpu_kernel 8 && ./build-bench/cpu_kernel 32

# The CUDA/Triton kernels checked on a GPU box in ~8 min (tools/gpu_check/): needs torch, nvcc, compute-sanitizer, ncu.
gpu-check:
	bash tools/gpu_check/devcheck.sh

clean:
	rm -rf build build-cmake build-bench fastlif/_C*.so *.egg-info
