# Both targets create or refresh .venv/ and install graphc with its dependencies from the package registries.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test demo aot gpu-check fuzz sanitize bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,demo]'
	@# cuBLAS for the CUDA backend's build tests, only where nvcc is (a large download; optional)
	@if command -v nvcc >/dev/null 2>&1 || test -x /usr/local/cuda/bin/nvcc; then \
	    $(PY) -m pip install -q -e '.[cuda]' || echo 'graphc: CUDA wheels not installed: the CUDA tests skip their cuBLAS parts'; fi
	touch $(STAMP)

# The suite, then a representative subset again with the generated C built under AddressSanitizer and
# UndefinedBehaviorSanitizer (edge semantics, the short fuzz run, the call path, vectorized reductions, threads and
# fork; `make sanitize` runs the larger set).
SANITIZE_SUBSET := tests/test_edge_semantics.py tests/fuzz tests/test_call_path.py tests/test_reduce_vectorized.py \
	tests/test_hostile.py tests/test_codegen_units.py
test: $(STAMP)
	GRAPHC_CACHE_DIR=$${GRAPHC_CACHE_DIR:-$(CURDIR)/.graphc-cache/test} $(PY) -m pytest -q -n 2 tests
	$(MAKE) --no-print-directory sanitize SANITIZE_TESTS="$(SANITIZE_SUBSET)"

demo: $(STAMP)
	$(PY) examples/train_digits.py

aot: $(STAMP)  # compile the digits model ahead of time, link examples/aot/predict.c to it, run it
	$(MAKE) -C examples/aot run PYTHON=$(CURDIR)/$(PY)

gpu-check: $(STAMP)  # on a machine with an NVIDIA GPU: every op vs numpy, digits on the device, timings (bench/gpu_check.py)
	PYTHONUNBUFFERED=1 $(PY) bench/gpu_check.py

fuzz: $(STAMP)  # the long differential fuzz run: random graphs vs numpy, py, c, c without each pass, gradients
	$(PY) -m tests.fuzz --graphs $${GRAPHS:-10000}

# graphc against numpy, PyTensor, JAX and torch.compile (bench/__main__.py); quick mode, under 5 minutes on 2 cores.
# The peers install into .venv here only, one by one from bench/requirements.txt: one that fails to install leaves
# its rows "not installed" (and is tried again next time) while the others run.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP) bench/requirements.txt
	@ok=1; for req in $$(sed -e 's/#.*//' bench/requirements.txt); do \
	    $(PY) -m pip install -q "$$req" || { ok=0; echo "bench: $$req did not install; its rows will say so"; }; \
	done; test $$ok = 0 || touch $(BENCH_STAMP)

# graphc is installed editable, so unlike the peers (whose bytecode pip compiled at install) its modules would be
# compiled again in every benchmark process where PYTHONDONTWRITEBYTECODE is set: compile them once, as pip would.
bench: $(BENCH_STAMP)
	$(PY) -m compileall -q graphc
	$(PY) -m bench --quick --json bench-results.json --plot bench-results.png

# Generated C built with AddressSanitizer and UndefinedBehaviorSanitizer (float->int casts included), run on a
# representative subset. Python is not instrumented, so ASan's runtime is preloaded; Python's own allocations are
# not leak-checked. Memory-growth tests are left out: ASan keeps freed memory in quarantine.
SANITIZE_FLAGS := -fsanitize=address -fsanitize=undefined -fsanitize=float-cast-overflow -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
SANITIZE_TESTS := tests/test_edge_semantics.py tests/fuzz tests/test_elemwise.py tests/test_reduce.py \
	tests/test_subtensor.py tests/test_shape.py tests/test_join.py tests/test_blas.py tests/test_gemm.py \
	tests/test_nnet.py tests/test_fusion.py tests/test_memory_plan.py tests/test_function.py tests/test_hostile.py \
	tests/test_call_path.py tests/test_reduce_vectorized.py tests/test_codegen_units.py
sanitize: $(STAMP)
	GRAPHC_CACHE_DIR=$(CURDIR)/.graphc-cache/sanitize GRAPHC_FLAGS="cflags_extra=$(SANITIZE_FLAGS)" \
	LD_PRELOAD=$$($${CC:-cc} -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
	UBSAN_OPTIONS=print_stacktrace=1 $(PY) -m pytest -q -n 2 -p no:cacheprovider $(SANITIZE_TESTS) -k "not grow_memory"

clean:
	rm -rf $(VENV) .graphc-cache .pytest_cache build dist examples/aot/build
