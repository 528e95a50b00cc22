# Backprop from Scratch. Every target bootstraps .venv on its own, so on a new machine
#   make book   builds the site into _build/html
#   make test   runs every test, two jobs at a time: the strict site build and its browser tests,
#               the library tests, each notebook executed by
#               nbval at seed 0 (outputs compared, on this machine's arithmetic and on another's)
#               and at seeds 1 and 2 (assertions only)
#   make lab    opens JupyterLab at the repository's root (chapters/ and student/), MyST rendered
# Needs only Python 3.11+ and make. The course's MNIST ships with the library: nothing is
# downloaded, and no variable is needed. Chapter 9 reads Fashion-MNIST: from Debian's
# dataset-fashion-mnist package where it is installed, else downloaded once (about 30 MB).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

# The build executes every notebook, one after the other, each on one BLAS thread: the book's
# matrix products are small, and a second OpenBLAS thread costs more in synchronisation than it
# saves (measured on a 2-core VM, the eight notebooks one after the other: 120 s on one thread,
# 152 s on two).
book: $(STAMP)
	$(ONE_THREAD) $(BIN)/jupyter-book build . --path-output .
	@echo "The site is in _build/html/index.html"

# `make test` runs seven jobs, two at a time (each job's output is printed when it ends):
#   test-site           the strict build (-W: warnings are errors, -n: every reference must
#                       resolve) of the site from the outputs saved in the notebooks, then the
#                       browser tests of its pages (the seed-0 job proves that executing the
#                       notebooks gives those outputs, so executing them a fifth time here, as
#                       `make book` does, would test nothing more);
#   test-library        the library tests in tests/;
#   test-seed-0         every notebook at the book's seed (0), each output compared with the
#                       saved one (nbval);
#   test-seed-1         every notebook again at seed 1 with nothing compared (--nbval-lax):
#                       only errors and failed assertions count, so a claim that held for one
#                       lucky seed fails the test (seed 2: the learner's route);
#   test-other-machine  the seed-0 comparison on other arithmetic (below);
#   test-learner        the learner's route: a fresh venv holding only `pip install .` (with
#                       Colab's versions of its dependencies) and a kernel runs every student
#                       notebook and every chapter to the end, from a folder outside the
#                       repository, with no data variable set; it runs them at seed 2, so it is
#                       also the seed-2 job (every assertion checked, nothing compared);
#   test-workflow       the GitHub workflow against GitHub's schema (offline).
# Every job runs NumPy's BLAS (and PyTorch) on one thread: two jobs share the two cores, and
# BLAS threads fighting over a busy core can run many times slower than one thread. No compared
# output depends on the thread count (the other-machine job checks one thread against the saved
# outputs, which come from the default count). The jobs start longest first.
OTHER_SEEDS := 1
TEST_JOBS := test-learner test-other-machine test-seed-0 $(OTHER_SEEDS:%=test-seed-%) test-site \
	test-library test-workflow
ONE_THREAD := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
# (The seed jobs are not listed: make never applies a pattern rule to a phony target.)
.PHONY: book test test-site test-library test-seed-0 test-other-machine test-learner test-workflow \
	lab clean

test: $(STAMP)
	$(MAKE) --no-print-directory -j2 --output-sync=target $(TEST_JOBS)
	@echo "make test: every job passed"

# The site's configuration with execution off: the build renders the saved outputs.
SAVED_OUTPUTS_CONFIG := _build/config-saved-outputs.yml

test-site: $(STAMP)
	$(BIN)/python tools/config_saved_outputs.py $(SAVED_OUTPUTS_CONFIG)
	$(ONE_THREAD) $(BIN)/jupyter-book build . --path-output . --config $(SAVED_OUTPUTS_CONFIG) \
		-W -n --keep-going
	$(ONE_THREAD) $(BIN)/python -m pytest tests/test_site.py -q

# ruff (settings in pyproject.toml: 88 columns, the listings' width) checks the files that are
# clean so far: the autograd engine, the tests' harness (tests/conftest.py) and the traps' tests.
# The rest of the library is not yet at 88 columns; add each file here once it is.
RUFF_CLEAN := src/backprop/autograd src/backprop/exercises/normalisation.py tests/conftest.py \
	tests/test_traps.py tests/test_exercise_layernorm.py

test-library: $(STAMP)
	$(BIN)/ruff check $(RUFF_CLEAN)
	$(ONE_THREAD) $(BIN)/python -m pytest tests -q --ignore=tests/test_site.py

test-seed-0: $(STAMP)
	$(ONE_THREAD) $(BIN)/python -m pytest chapters -q

test-seed-%: $(STAMP)
	BACKPROP_SEED=$* $(ONE_THREAD) $(BIN)/python -m pytest chapters --nbval-lax -q

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
	$(OTHER_ARITHMETIC) $(ONE_THREAD) $(BIN)/python -m pytest chapters -q

# The learner's route (tools/learner_route.py): every student notebook and chapter, run in a venv
# that holds only the installed library and a kernel, as in Colab, Binder or a learner's Jupyter.
# Each student notebook runs to the end with every exercise unsolved: every check says "not done
# yet".
test-learner: $(STAMP)
	$(ONE_THREAD) $(BIN)/python tools/learner_route.py

test-workflow: $(STAMP)
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

# JupyterLab at the repository's root: student/ to work in, chapters/ to read, with the MyST
# extension, so the chapters render as closely to the site as it allows. jupyterlab-myst 2.7
# needs JupyterLab 4.5 (4.6 bundles a collaboration library it does not support, and disables it).
lab: $(STAMP)
	$(BIN)/python -m pip install --quiet jupyterlab==4.5.11 jupyterlab-myst==2.7.0
	$(BIN)/jupyter lab --notebook-dir=.

clean:
	rm -rf _build .hypothesis
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +
