# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q

.PHONY: demo test bench install clean app chromium

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

# Stamps re-install when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PIP) install -e '.[test]'
	touch $(VENV)/.installed $@

$(VENV)/.installed-bench: pyproject.toml | $(PY)
	$(PIP) install -e '.[bench]'
	# The baseline of bench/bench_erlang.py; --no-deps skips ortools, which its
	# Erlang module does not use (it needs numpy, pandas and joblib).
	$(PIP) install joblib
	$(PIP) install --no-deps 'pyworkforce>=0.5'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	@echo "== Erlang staffing for Singles' Day (agents needed per interval and queue)"
	$(VENV)/bin/peakplan staff --forecast scenarios/singles_day_forecast.csv --targets scenarios/singles_day_targets.yaml
	@echo
	@echo "== Simulating Singles' Day with the roster of scenarios/singles_day.yaml"
	$(VENV)/bin/peakplan simulate scenarios/singles_day.yaml --reps 5 --seed 7
	@echo
	@echo
	@echo "== Planning Singles' Day: the cheapest shifts to book on top of the roster, checked by simulation"
	$(VENV)/bin/peakplan plan scenarios/singles_day.yaml --seed 7
	@echo
	@echo "== Capacity review of Singles' Day: low/base/high volume, and the shifts that close the gap"
	$(VENV)/bin/peakplan review scenarios/singles_day.yaml --reps 10 --seed 7

# The browser test (tests/test_app_browser.py) drives Debian's Chromium; Playwright never
# downloads a browser.  As root with apt-get, install it; otherwise warn (the test is skipped).
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "== installing chromium for the browser test"; \
		{ DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } || \
		echo "WARNING: installing chromium failed: the browser test will be skipped"; \
	else \
		echo "WARNING: /usr/bin/chromium is missing and cannot be installed here (needs root" \
		     "and apt-get): the browser test will be skipped"; \
	fi

# Both cores; a test file stays on one worker (its module fixtures, e.g. the app server, are
# made once).
test: $(VENV)/.installed-test chromium
	$(PY) -m pytest -n 2 --dist loadfile

app: $(VENV)/.installed
	$(VENV)/bin/streamlit run app.py

bench: $(VENV)/.installed-bench
	$(PY) bench/bench_erlang.py
	$(PY) bench/bench_engine.py
	$(PY) bench/bench_sweep.py
	$(PY) bench/bench_erlang_a.py
	$(PY) bench/bench_results.py
	$(PY) bench/bench_plan.py
	$(PY) bench/bench_history.py
	$(PY) bench/bench_callbacks.py
	$(PY) bench/bench_allocate.py --quick

clean:
	rm -rf $(VENV) build *.egg-info
