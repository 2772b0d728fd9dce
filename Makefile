# kata-console: `make run` opens the console, `make test` runs every check CI runs.
# Both are self-sufficient on a fresh machine: they create .venv and, when root,
# install the system packages the tests need (erofs-utils, qemu-system-x86, iproute2, tmux,
# golang-go).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test deps sysdeps lint protos bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

deps: $(STAMP)

sysdeps:
	@bash scripts/install-system-deps

run: $(STAMP)
	$(BIN)/kata-console $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

test: sysdeps $(STAMP)
	$(BIN)/ruff check .
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

protos: $(STAMP)
	$(BIN)/python -m backends.agent.gen

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
