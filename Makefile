# Health Library: `make run` to start the site, `make test` to run every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help run serve setup test test-browser relevance bench bench-http audit lighthouse python-check browser nginx checkers clean

help:
	@echo "make run    install, migrate, load content/, build the search index, serve http://$(HOST):$(PORT)"
	@echo "make setup  everything 'make run' does except serving"
	@echo "make serve  production-like: gunicorn, WhiteNoise, production settings (after make setup)"
	@echo "make test   install test dependencies (Chromium, nginx) and run the whole suite"

python-check:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null || { \
	  echo "Health Library needs Python 3.12 or newer (Django 6.1); '$(PYTHON)' is $$($(PYTHON) --version 2>&1)."; \
	  echo "Install one (for example 'pyenv install 3.12': the repository's .python-version then selects it)"; \
	  echo "or point make at it: make run PYTHON=python3.12"; exit 1; }

$(BIN)/python: | python-check
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed
	$(MANAGE) migrate --no-input
	$(MANAGE) import_content --new-only
	$(MANAGE) rebuild_index
	$(MANAGE) invalidate_page_cache

run: setup
	$(MANAGE) runserver $(HOST):$(PORT)

# Production-like on one machine: production settings, gunicorn, WhiteNoise, shared file cache.
# Plain HTTP on 127.0.0.1, so HTTPS redirects and secure cookies are off here (never in production).
# Clients connect straight to gunicorn, so no proxy is trusted unless HEALTHLIB_TRUSTED_PROXY_IPS
# names one (a local nginx: 127.0.0.1); gunicorn's FORWARDED_ALLOW_IPS always follows it.
# With no front server in this trial layout, Django serves uploaded images (HEALTHLIB_SERVE_MEDIA=1);
# production leaves that to nginx (deploy/nginx.conf).
SERVE_ENV = DJANGO_SETTINGS_MODULE=healthlib.settings.production \
  SECRET_KEY="$$(cat var/secret_key)" ALLOWED_HOSTS=127.0.0.1,localhost \
  DATABASE_URL=$${DATABASE_URL:-sqlite:///$(CURDIR)/var/healthlib.sqlite3} CACHE_URL=$${CACHE_URL:-file://$(CURDIR)/var/cache} \
  SECURE_SSL_REDIRECT=0 SECURE_HSTS_SECONDS=0 SECURE_COOKIES=0 HEALTHLIB_SERVE_MEDIA=1 \
  HEALTHLIB_TRUSTED_PROXY_IPS="$${HEALTHLIB_TRUSTED_PROXY_IPS:-}" FORWARDED_ALLOW_IPS="$${HEALTHLIB_TRUSTED_PROXY_IPS:-}"
WORKERS ?= 2

var/secret_key:
	@mkdir -p var && umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(60))' > $@

serve: setup var/secret_key
	$(SERVE_ENV) $(MANAGE) collectstatic --no-input --verbosity 0
	$(SERVE_ENV) $(MANAGE) invalidate_page_cache --verbosity 0
	$(SERVE_ENV) $(BIN)/gunicorn healthlib.wsgi --workers $(WORKERS) --bind $(HOST):$(PORT)

# Debian's Chromium drives the browser tests (Playwright cannot download its own here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y -q chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; \
	  else echo "Browser tests need Chromium: sudo apt-get install chromium (they are skipped without it)"; fi; }

# Debian's nginx for the front-server tests (tests/test_front.py runs deploy/nginx.conf).
nginx:
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y -q nginx-light >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q nginx-light >/dev/null; } \
	      || apt-get install -y -q nginx >/dev/null; \
	  else echo "Front-server tests need nginx: sudo apt-get install nginx-light (they are skipped without it)"; fi; }

# axe-core and the Nu HTML Checker (npm; the checker runs on Java) for the page-quality tests.
checkers: node_modules/.installed

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "The accessibility and HTML checks need npm (Node.js); they are skipped without it"; exit 0; }; \
	  npm ci --no-audit --no-fund --loglevel=error && touch $@

test: $(VENV)/.installed-test browser nginx checkers
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# Search quality: top-1, top-3 and MRR over tests/relevance_cases.py (PostgreSQL too with DATABASE_URL).
relevance: $(VENV)/.installed-test
	$(BIN)/python -m pytest tests/test_relevance.py -q

test-browser: $(VENV)/.installed-test browser checkers
	$(BIN)/python -m pytest -m browser

clean:
	rm -rf $(VENV) var test-artifacts

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/scale_bench.py
	$(BIN)/python benchmarks/search_bench.py
	$(BIN)/python benchmarks/search_cost_bench.py
	$(BIN)/python benchmarks/readability_bench.py
	$(BIN)/python benchmarks/http_bench.py
	$(BIN)/python benchmarks/load_bench.py --layout embedded
	$(BIN)/python benchmarks/load_bench.py --layout production

# Known vulnerabilities in the installed dependency set (needs pypi.org's JSON API).
audit: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet pip-audit
	$(BIN)/python -m pip freeze --exclude-editable > var/requirements.lock
	$(BIN)/pip-audit --strict -r var/requirements.lock --no-deps --progress-spinner off

# Only the HTTP load figures (wrk; PostgreSQL and Redis on 127.0.0.1 for the production layout).
bench-http: $(VENV)/.installed
	$(BIN)/python benchmarks/http_bench.py

# Lighthouse against a running site (make run in another terminal): BASE=http://127.0.0.1:8000
lighthouse:
	benchmarks/lighthouse.sh
