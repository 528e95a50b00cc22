# Backprop from Scratch. Every target bootstraps .venv on its own, so on a new machine
#   make book   builds the site into _build/html
#   make test   runs every test: the strict site build, library tests, each notebook executed by
#               nbval at seed 0 (outputs compared, on this machine's arithmetic and on another's)
#               and at seeds 1 and 2 (assertions only)
# Needs only Python 3.11+ and make. Set BACKPROP_MNIST_DIR to read MNIST from a local folder.
# Chapter 7 also reads Fashion-MNIST (BACKPROP_FASHION_MNIST_DIR; see below for its default).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test test-other-machine lab clean

# Chapter 7 trains on Fashion-MNIST. Where Debian's dataset-fashion-mnist package has installed it
# and BACKPROP_FASHION_MNIST_DIR is not set, every target (the book's build, the tests, the lab)
# reads it from there instead of downloading it (about 30 MB) into the per-user cache.
DEBIAN_FASHION_MNIST := /usr/share/datasets/fashion-mnist
ifeq ($(origin BACKPROP_FASHION_MNIST_DIR),undefined)
ifneq ($(wildcard $(DEBIAN_FASHION_MNIST)),)
export BACKPROP_FASHION_MNIST_DIR := $(DEBIAN_FASHION_MNIST)
endif
endif

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --path-output .
	@echo "The site is in _build/html/index.html"

# The strict build (-W: warnings are errors, -n: every reference must resolve) runs first, so the
# browser tests in tests/ see the site it builds; pytest then runs tests/ and every notebook at the
# book's seed (0), comparing each output with the saved one. Last, every notebook runs again at
# seeds 1 and 2, in parallel, with nothing compared (--nbval-lax): there only errors and failed
# assertions count, so a claim that held for one lucky seed fails the test. The seed-0 comparison
# on other arithmetic (below) and the student notebooks run alongside.
OTHER_SEEDS := 1 2

test: $(STAMP)
	$(BIN)/jupyter-book build . --path-output . -W -n --keep-going
	$(BIN)/python -m pytest -m "not student_notebooks"
	$(MAKE) --no-print-directory -j2 --output-sync=target $(OTHER_SEEDS:%=test-seed-%) \
		test-other-machine test-student

test-seed-%: $(STAMP)
	BACKPROP_SEED=$* $(BIN)/python -m pytest chapters --nbval-lax -q

# The saved outputs come from one machine; CI and learners run others, whose CPUs and BLAS kernels
# round the last bits differently. So the seed-0 run, outputs compared, is made again with other
# arithmetic: OpenBLAS's generic x86 kernels on one thread, and NumPy without its AVX2 and AVX-512
# loops. An output that changes is machine-dependent: print a verdict or a bound instead, or tag
# the cell nbval-ignore-output and assert what holds (CONTRIBUTING.md). Elsewhere than x86-64 only
# the thread count changes.
ifeq ($(shell uname -m),x86_64)
OTHER_ARITHMETIC := OPENBLAS_CORETYPE=Prescott NPY_DISABLE_CPU_FEATURES="X86_V3 X86_V4 AVX512_ICL AVX512_SPR"
endif

test-other-machine: $(STAMP)
	$(OTHER_ARITHMETIC) OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest chapters -q

# The student notebooks (student/, made by tools/make_student_notebooks.py) run to the end with
# every exercise unsolved, and every check says "not done yet".
test-student: $(STAMP)
	$(BIN)/python -m pytest tests/test_student_notebooks.py -m student_notebooks -q

lab: $(STAMP)
	$(BIN)/python -m pip install --quiet jupyterlab==4.6.6
	$(BIN)/jupyter lab chapters/

clean:
	rm -rf _build .hypothesis
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +
