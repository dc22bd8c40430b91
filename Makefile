# Two commands matter: `make demo` (the whole pipeline on the built-in demo data) and `make test`.
PYTHON ?= python3
PROFILE ?= cpu
DATA_DIR ?=
OUT ?=

.PHONY: setup demo pipeline test lint bench

setup:  ## install what the project needs (lower bounds: an existing torch, e.g. Colab's, is kept)
	$(PYTHON) -m pip install -q -r requirements.txt

demo: setup  ## generate the demo data set (6,000 + 2,000 rows) and run all five notebooks, cpu profile
	$(PYTHON) -m helpers.pipeline --profile cpu

pipeline: setup  ## make pipeline DATA_DIR=/path/to/comp5329 PROFILE=full OUT=runs/full
	$(PYTHON) -m helpers.pipeline --profile $(PROFILE) $(if $(DATA_DIR),--data-dir $(DATA_DIR)) $(if $(OUT),--out $(OUT))

test: setup  ## every test, the papermill run of all notebooks included
	$(PYTHON) -m pytest -q

lint:
	$(PYTHON) -m ruff check helpers tests

bench: setup  ## benchmark table + JSON (see README)
	$(PYTHON) -m helpers.bench --json bench/latest.json
