# Two commands matter: `make demo` (the whole pipeline on the built-in demo data) and `make test`.
# Both work in a virtual environment that the Makefile makes (.venv), since recent Debian/Ubuntu refuse a
# system-wide pip install. Inside an active virtual environment (or with PYTHON=...) that one is used instead.
# The venv sees the system's site-packages, so a torch that is already installed (Colab's, a CUDA build) is kept;
# the requirements are lower bounds only.
PROFILE ?= cpu
DATA_DIR ?=
OUT ?=
VENV ?= .venv
ifdef VIRTUAL_ENV
PYTHON ?= python
else
PYTHON ?= $(VENV)/bin/python
endif

.PHONY: setup demo pipeline report report-pdf test lint bench readme

$(VENV)/bin/python:
	python3 -m venv --system-site-packages $(VENV)

setup: $(if $(filter $(VENV)/bin/python,$(PYTHON)),$(VENV)/bin/python)  ## install the project and what it needs
	$(PYTHON) -m pip install -q -e .

demo: setup  ## generate the demo data set (6,000 + 2,000 rows) and run all five notebooks, cpu profile
	$(PYTHON) -m helpers.pipeline --profile cpu

pipeline: setup  ## make pipeline DATA_DIR=/path/to/comp5329 PROFILE=full OUT=runs/full
	$(PYTHON) -m helpers.pipeline --profile $(PROFILE) $(if $(DATA_DIR),--data-dir $(DATA_DIR)) $(if $(OUT),--out $(OUT))

report:  ## one document of a run: figures/report.html (self-contained) + report.md; make report OUT=runs/full
	$(PYTHON) -m helpers.report.document $(if $(OUT),--out $(OUT))

report-pdf: report  ## figures/report.pdf (A4) from report.html with headless Chromium (Debian package chromium)
	chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --no-pdf-header-footer \
		--print-to-pdf=$(abspath $(or $(OUT),.))/figures/report.pdf file://$(abspath $(or $(OUT),.))/figures/report.html

test: setup  ## every test, the papermill run of all notebooks included
	$(PYTHON) -m pytest -q

readme:  ## copy the results of the last `make demo` into README.md (between the results markers)
	$(PYTHON) -m helpers.report.readme_results

lint:
	$(PYTHON) -m ruff check helpers tests

bench: setup  ## benchmark table + JSON (see README)
	$(PYTHON) -m helpers.bench --json bench/latest.json
