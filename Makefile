# Both targets create .venv/ and install the project into it when missing.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# buf (proto lint) comes from npm, pinned, into .venv/buf; never installed globally.
BUF_VERSION := 1.75.0
BUF := $(VENV)/buf/node_modules/.bin/buf
BUF_STAMP := $(VENV)/buf/.installed-$(BUF_VERSION)

.PHONY: demo test lint lint-proto proto docs bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/guidance world generate --scale small --seed 7 --overwrite
	$(BIN)/guidance world summary
	$(BIN)/guidance prepare --version demo --overwrite
	$(BIN)/guidance context show --advertiser 17
	$(BIN)/guidance train
	$(BIN)/guidance evaluate
	$(BIN)/guidance promote
	# the same kind of job on a Ray cluster: two nodes started here with `ray start`, a job sent
	# through Ray's job submission with this checkout as its working directory, the nodes stopped
	$(BIN)/python -m deploy.local_cluster --nodes 2 -- guidance world summary --root "$(CURDIR)/.guidance"
	$(BIN)/python -m serving.demo
	# exit code 1 is a verdict (drift found), not a failure of the demo
	$(BIN)/guidance monitor drift --window 1d || [ $$? -eq 1 ]
	# a short experiment after the history: the learned policy against the rules (paired truth
	# and an A/B test), off-policy estimates against the truth, promised against delivered
	$(BIN)/guidance experiment --name demo --arms logging,learned,learned_explore --days 14 \
		--advertisers 1000 --overwrite

test: $(STAMP) lint-proto
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q --durations=15
	# the service tests again through direct ingress: clients on the ingress replica's own port
	RAY_SERVE_THROUGHPUT_OPTIMIZED=1 RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S=1 \
		$(BIN)/python -m pytest -q tests/integration/test_service.py

lint: $(STAMP)
	$(BIN)/ruff check .

$(BUF_STAMP):
	npm install --prefix $(VENV)/buf --no-save --no-audit --no-fund @bufbuild/buf@$(BUF_VERSION)
	touch $(BUF_STAMP)

lint-proto: $(BUF_STAMP)
	cd protos && ../$(BUF) lint

proto: $(STAMP)
	$(BIN)/python -m serving.gen.generate

docs: $(STAMP)
	$(BIN)/python -m pipelines.world.schema > docs/data.md
	{ $(BIN)/python -m pipelines.context.docs; echo; $(BIN)/python -m pipelines.candidates.reasons; } > docs/signals.md

bench: $(STAMP)
	$(BIN)/python benchmarks/world.py

clean:
	rm -rf .guidance .pytest_cache
