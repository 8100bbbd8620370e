# Two commands for a newcomer:  make run   (set up, start the app)
#                               make test  (set up, run every test)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501

.PHONY: run test lint bench bench-sb3 clean

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

run: $(VENV)/.runtime
	$(PY) -m streamlit run app/Home.py --server.port $(PORT)

# ruff (lint + format) and mypy (pgcore fully typed) run first: seconds, and they fail fast
lint: $(VENV)/.dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# Two workers (one per core on the 2-core host; "auto" uses every core there is), whole files per
# worker so a module's server or browser is started once (the whole suite: ~3.5 min on the quiet 2-core host).
test: lint
	$(PY) -m pytest -n auto --dist loadfile

bench: $(VENV)/.dev
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache screenshots

# SB3 PPO/A2C with RL Zoo's CartPole settings (issue 14's reference): its own venv on .venv's
# packages (a .pth file), so SB3 never enters .venv or requirements.txt nor pulls another torch.
bench-sb3: $(VENV)/.dev
	@test -x .bench-venv/bin/python || $(PYTHON) -m venv .bench-venv
	$(PY) -c "import site; print(site.getsitepackages()[0])" > "$$(.bench-venv/bin/python -c 'import site; print(site.getsitepackages()[0])')/main-venv.pth"
	.bench-venv/bin/python -c "import stable_baselines3" 2>/dev/null || .bench-venv/bin/pip install --quiet --no-deps stable-baselines3
	.bench-venv/bin/python benchmarks/bench_sb3.py --algos ppo

