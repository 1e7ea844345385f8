# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Installed first and pinned: on a plain PyPI machine a bare "torch" pulls a multi-GB CUDA build.
# Override on a GPU box, e.g. `make TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"`.
TORCH_SPEC ?= torch==2.13.0
FACE_ALIGNMENT_SPEC ?= face-alignment==1.5.0
SAMPLE ?= sample-project
STAMP := $(VENV)/.f2a-installed
# face-alignment declares the non-headless opencv-python (which bundles a second Qt), so it is installed
# with --no-deps; pyproject.toml lists the packages it really needs.

.PHONY: run test test-all lint bench sample clean-venv mutate

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet --no-deps $(FACE_ALIGNMENT_SPEC)
	touch $(STAMP)

$(SAMPLE)/project.f2a.sqlite: | $(STAMP)
	$(VENV)/bin/f2a sample $(SAMPLE)

sample: $(SAMPLE)/project.f2a.sqlite

run: $(STAMP) $(SAMPLE)/project.f2a.sqlite
	$(VENV)/bin/f2a studio $(SAMPLE)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

test-all: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m ''

lint: $(STAMP)
	$(VENV)/bin/ruff check f2a_studio trainer tests benchmarks tools

# Mutation testing (tools/mutate.py, docs/mutation.md): not part of `make test` or CI, it takes long. Run it
# before resolving an issue that touches the modules it covers, e.g. `make mutate MUTATE="store atomic"`.
MUTATE ?= all
MUTATE_MAX ?= 60
mutate: $(STAMP)
	nice -n 10 $(PY) tools/mutate.py --max $(MUTATE_MAX) --json mutation.json $(MUTATE)

bench: $(STAMP)
	$(PY) -m benchmarks

clean-venv:
	rm -rf $(VENV)
