# machidata — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export MACHIDATA_HOME ?= $(CURDIR)/var
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: demo test test-spark spark lint typecheck bench install install-dev browser ldap messages clean help

help:
	@echo "make demo   … 仮想環境を作り、デモ内容を読み込み、http://127.0.0.1:8000 で起動します"
	@echo "make test   … 開発用の依存を入れて全テストを実行します"
	@echo "make test-spark … Java と PySpark を入れて、DuckDB と Spark の結果の一致を確かめます"
	@echo "make lint   … ruff / import-linter / mypy"
	@echo "make bench  … ベンチマーク（docs/benchmarks.md に結果を書きます）"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(DEVSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP) $@

install: $(STAMP)
install-dev: $(DEVSTAMP)

demo: $(STAMP)
	$(BIN)/machidata demo --port $${PORT:-8000}

# Browser tests need Debian's Chromium (Playwright cannot download its own browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium がありません: sudo apt-get install -y chromium"; fi; }

# Spark (MACHIDATA_ENGINE=spark) needs PySpark from PyPI and Java 17 or newer: .ci/check-java checks the
# version of the java PySpark will start ($JAVA_HOME/bin/java, else the PATH's) and, as root, installs
# Debian's openjdk-17-jre-headless when it is missing or older; otherwise it says what to do and fails.
spark:
	@bash .ci/check-java

# The cross-backend suite (marker `spark`, deselected by `make test`) on a local Spark (local[2]).
test-spark: $(DEVSTAMP) spark
	$(BIN)/pip install -q -e '.[dev,spark]'
	MACHIDATA_HOME=$$(mktemp -d) MACHIDATA_SPARK_MASTER='local[2]' $(BIN)/pytest -n 0 -q -m spark machidata/engine/tests

# LDAP sign-in tests start Debian's OpenLDAP server (slapd) themselves; ldap-utils is for looking at it by hand.
ldap:
	@{ command -v slapd >/dev/null 2>&1 || [ -x /usr/sbin/slapd ]; } || { \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slapd ldap-utils >/dev/null; \
	  else echo "slapd がありません: sudo apt-get install -y slapd ldap-utils"; fi; }

test: $(DEVSTAMP) browser ldap
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy machidata
	MACHIDATA_HOME=$$(mktemp -d) $(BIN)/pytest -n 2 -q

lint: $(DEVSTAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports && $(BIN)/mypy machidata

bench: $(DEVSTAMP)
	$(BIN)/pip install -q -e '.[dev,bench]'
	$(BIN)/python -m bench
	$(BIN)/python -m bench bi
	$(BIN)/python -m bench prep
	$(BIN)/python -m bench search-speed
	$(BIN)/python -m bench search-quality
	$(BIN)/python -m bench pii
	$(BIN)/python -m bench crash
	$(BIN)/python -m bench load
	PGPORT=55439 bash .ci/with-postgres sh -c '$(BIN)/python -m bench load --database-url "$$DATABASE_URL"'
	$(BIN)/python -m bench portal

messages:  # the portal's English: regenerate the .po from the templates and compile the .mo (needs GNU gettext)
	cd machidata/portal && DJANGO_SETTINGS_MODULE=machidata.config.settings PYTHONPATH=$(CURDIR) \
		$(CURDIR)/$(BIN)/python -P -m django makemessages -l en --ignore 'tests/*' && \
		DJANGO_SETTINGS_MODULE=machidata.config.settings PYTHONPATH=$(CURDIR) $(CURDIR)/$(BIN)/python -P -m django compilemessages

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
