# Quiver: build, demo and test. Everything this needs is installed into
# git-ignored folders (.tools/, .venv/) so a second run is fast.

SHELL := /bin/bash
GO ?= go
PYTHON ?= python3

# duckdb-go exposes its Arrow API behind this build tag; users never type it.
GOTAGS := duckdb_arrow
export GOFLAGS := -tags=$(GOTAGS)

TOOLS := $(CURDIR)/.tools
VENV := $(CURDIR)/.venv
BIN := $(CURDIR)/bin/quiver
# The test binary: the release one plus the QUIVER_TEST_* hooks
# (cmd/quiver/testhooks_on.go), which the release binary never has. The
# end-to-end tests run it; the Python tests and the demo run the release one.
TEST_BIN := $(CURDIR)/bin/quiver-test
GO_SOURCES := $(shell find . -name '*.go' -not -path './.tools/*' -not -path './.venv/*') go.mod go.sum

MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
DUCKDB_VERSION := 1.5.5
MINIO := $(TOOLS)/bin/minio
# Go linters beyond vet, pinned (see lint).
STATICCHECK_VERSION := v0.8.2
ERRCHECK_VERSION := v1.30.0
STATICCHECK := $(TOOLS)/bin/staticcheck-$(STATICCHECK_VERSION)
ERRCHECK := $(TOOLS)/bin/errcheck-$(ERRCHECK_VERSION)
EXT_DIR := $(TOOLS)/duckdb-extensions
HTTPFS := $(EXT_DIR)/v$(DUCKDB_VERSION)/linux_amd64/httpfs.duckdb_extension
# tpch generates TPC-H data and answers for the distributed-execution tests and benchmark.
TPCH := $(EXT_DIR)/v$(DUCKDB_VERSION)/linux_amd64/tpch.duckdb_extension
VENV_STAMP := $(VENV)/.installed
WHEELHOUSE := $(TOOLS)/wheels/python
# The Flight SQL JDBC driver, for the JDBC end-to-end test (Maven Central).
JDBC_JAR := $(TOOLS)/jdbc/flight-sql-jdbc-driver-18.3.0.jar
# The Iceberg fixtures (testdata/iceberg): a real REST catalog (one
# self-contained jar, Maven Central), the Java writer of the merge-on-read
# delete files pyiceberg cannot write, pyiceberg itself in the test venv,
# and DuckDB's iceberg extension (with avro, which it needs) as a
# reference reader.
ICEBERG_JAR := $(TOOLS)/iceberg/iceberg-open-api-1.10.0.jar
ICEBERG_WRITER := $(TOOLS)/iceberg-writer
ICEBERG_WRITER_CLASS := $(ICEBERG_WRITER)/classes/DeleteWriter.class
ICEBERG_EXT := $(EXT_DIR)/v$(DUCKDB_VERSION)/linux_amd64/iceberg.duckdb_extension
AVRO_EXT := $(EXT_DIR)/v$(DUCKDB_VERSION)/linux_amd64/avro.duckdb_extension
VENV_ICEBERG := $(VENV)/.iceberg-installed

# Tests and the demo find the tools through these.
export QUIVER_EXTENSION_DIR := $(EXT_DIR)
export QUIVER_MINIO_BIN := $(MINIO)
export QUIVER_BIN := $(BIN)
export QUIVER_TEST_BIN := $(TEST_BIN)
export QUIVER_PYTHON := $(VENV)/bin/python
export QUIVER_WHEELHOUSE := $(WHEELHOUSE)
export QUIVER_JDBC_JAR = $(JDBC_JAR)
export QUIVER_ICEBERG_JAR = $(ICEBERG_JAR)
export QUIVER_ICEBERG_WRITER = $(ICEBERG_WRITER)

COMMA := ,

.PHONY: all build build-test demo demo-prerequisites test test-go test-python notebooks tools iceberg-tools lint bench fuzz clean

all: build

build: $(BIN)

build-test: $(TEST_BIN)

$(BIN): $(GO_SOURCES)
	$(GO) build -o $(BIN) ./cmd/quiver

$(TEST_BIN): $(GO_SOURCES)
	$(GO) build -tags=$(GOTAGS),quivertest -o $(TEST_BIN) ./cmd/quiver

# Everything the tests and benchmarks use; `make demo` needs none of it.
tools: $(MINIO) $(HTTPFS) $(TPCH) $(VENV_STAMP) $(JDBC_JAR) $(STATICCHECK) $(ERRCHECK) iceberg-tools

# What the Iceberg fixtures need (testdata/iceberg/README.md).
iceberg-tools: $(ICEBERG_JAR) $(ICEBERG_WRITER_CLASS) $(VENV_ICEBERG) $(ICEBERG_EXT) $(AVRO_EXT)

# Installed under a versioned name, so changing a pin installs the new one.
$(STATICCHECK):
	mkdir -p $(TOOLS)/gobin-staticcheck
	GOBIN=$(TOOLS)/gobin-staticcheck GOFLAGS= $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mkdir -p $(dir $@) && mv $(TOOLS)/gobin-staticcheck/staticcheck $@

$(ERRCHECK):
	mkdir -p $(TOOLS)/gobin-errcheck
	GOBIN=$(TOOLS)/gobin-errcheck GOFLAGS= $(GO) install github.com/kisielk/errcheck@$(ERRCHECK_VERSION)
	mkdir -p $(dir $@) && mv $(TOOLS)/gobin-errcheck/errcheck $@

$(MINIO):
	GOBIN=$(TOOLS)/bin GOFLAGS= $(GO) install github.com/minio/minio@$(MINIO_VERSION)

# DuckDB extensions come from their pinned PyPI wheels, never from the network at run time.
$(EXT_DIR)/v$(DUCKDB_VERSION)/linux_amd64/%.duckdb_extension:
	mkdir -p $(TOOLS)/wheels $(dir $@)
	$(PYTHON) -m pip download --quiet --no-deps --dest $(TOOLS)/wheels duckdb-extension-$*==$(DUCKDB_VERSION)
	$(PYTHON) -m zipfile -e $(TOOLS)/wheels/duckdb_extension_$*-$(DUCKDB_VERSION)-*.whl $(TOOLS)/wheels/$*
	cp $(TOOLS)/wheels/$*/duckdb_extension_$*/extensions/v$(DUCKDB_VERSION)/$*.duckdb_extension $@

$(JDBC_JAR): clients/jdbc/pom.xml
	mvn -q -f clients/jdbc/pom.xml dependency:copy-dependencies -DoutputDirectory=$(TOOLS)/jdbc

$(ICEBERG_JAR): testdata/iceberg/pom.xml
	mvn -q -f testdata/iceberg/pom.xml dependency:copy-dependencies -DoutputDirectory=$(TOOLS)/iceberg
	touch $@

# Its libraries are replaced whole, so a changed pin leaves no stale jar
# on the classpath (lib/*).
$(ICEBERG_WRITER_CLASS): testdata/iceberg/writer/pom.xml testdata/iceberg/writer/DeleteWriter.java
	rm -rf $(ICEBERG_WRITER)
	mvn -q -f testdata/iceberg/writer/pom.xml dependency:copy-dependencies -DoutputDirectory=$(ICEBERG_WRITER)/lib
	javac -nowarn -d $(ICEBERG_WRITER)/classes -cp '$(ICEBERG_WRITER)/lib/*' testdata/iceberg/writer/DeleteWriter.java

# pyiceberg and what it pulls in, pinned, on top of the test venv.
$(VENV_ICEBERG): testdata/iceberg/requirements.txt $(VENV_STAMP)
	$(VENV)/bin/pip install --quiet -r testdata/iceberg/requirements.txt
	touch $@

# The venv the README's Python examples start from, made by `make demo`:
# the client (editable) with its DataFrame, Jupyter and ADBC extras, and
# what the examples use beyond it: matplotlib (a plot) and bcrypt (the
# hash of a users file). The test extra has both.
VENV_CLIENT := $(VENV)/.client-installed
$(VENV_CLIENT): clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e 'clients/python[pandas,polars,notebook,dbapi,plot]' bcrypt
	touch $@

# The test venv: the client with the test extra (a superset of the demo's
# extras, so it counts as the demo's venv too), and a wheelhouse from which
# `pip install ./clients/python` (with its extras) works offline:
# `pip install --no-index --find-links .tools/wheels/python ./clients/python`.
$(VENV_STAMP): clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e 'clients/python[test]'
	$(VENV)/bin/pip download --quiet --dest $(WHEELHOUSE) 'hatchling>=1.18' './clients/python[pandas,polars,notebook,dbapi,plot]'
	touch $(VENV_CLIENT) $@

# The demo serves a local warehouse: DuckDB reads it with no extension (httpfs
# is only loaded for s3:// warehouses), so it needs the binary, and the venv
# for the README's Python examples; no Java, MinIO or extension.
# The demo also serves /metrics, /healthz and /readyz on DEMO_HTTP.
# demo-data also writes an Iceberg table into a SQL catalog under
# warehouse/_iceberg (ignored by the Parquet layout), served as catalog
# lake: lake.billing.invoices. A warehouse made before it existed gets it
# with --iceberg-only, from its own demo.profiles, without regenerating.
DEMO_HTTP ?= 127.0.0.1:9090
DEMO_ICEBERG := lake=sqlite:./warehouse/_iceberg/catalog.db?warehouse=./warehouse/_iceberg/tables&sql-catalog-name=demo_lake
demo: demo-prerequisites build $(VENV_CLIENT)
	@if [ ! -d warehouse/demo ]; then $(BIN) demo-data --warehouse ./warehouse; \
	elif [ ! -f warehouse/_iceberg/catalog.db ]; then $(BIN) demo-data --warehouse ./warehouse --iceberg-only; fi
	$(BIN) serve --warehouse ./warehouse --http-listen $(DEMO_HTTP) --reports-file examples/reports.yaml --iceberg-catalog '$(DEMO_ICEBERG)'

# One line per missing tool, before anything is built or installed. The Go
# module proxy and PyPI must be reachable (or GOPROXY/PIP_INDEX_URL point at
# mirrors); git is not needed (go build stamps VCS data only when it is there).
demo-prerequisites:
	@ok=1; \
	if ! command -v $(GO) >/dev/null 2>&1; then echo "make demo: needs Go 1.26 or newer (go is not on PATH): https://go.dev/dl/"; ok=0; \
	elif [ "$$(printf '%s\n' go1.26 "$$($(GO) env GOVERSION)" | sort -V | head -1)" != go1.26 ]; then echo "make demo: needs Go 1.26 or newer, found $$($(GO) env GOVERSION)"; ok=0; fi; \
	if ! command -v "$$($(GO) env CC 2>/dev/null || echo cc)" >/dev/null 2>&1; then echo "make demo: needs a C compiler for cgo (DuckDB): apt-get install build-essential"; ok=0; fi; \
	if ! command -v $(PYTHON) >/dev/null 2>&1; then echo "make demo: needs Python 3.10 or newer ($(PYTHON) is not on PATH): apt-get install python3 python3-venv"; ok=0; \
	elif ! $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then echo "make demo: needs Python 3.10 or newer, found $$($(PYTHON) -V 2>&1)"; ok=0; \
	elif [ ! -x $(VENV)/bin/python ] && ! $(PYTHON) -c 'import venv, ensurepip' 2>/dev/null; then echo "make demo: needs Python's venv module with pip (ensurepip): apt-get install python3-venv"; ok=0; fi; \
	[ $$ok = 1 ]

# gofmt, go vet (with and without the test hooks), staticcheck, errcheck
# on non-test code (.errcheck-excludes lists what it need not ask for:
# terminal prints, buffered writers, read-only closers, temp-file removal;
# a deliberately dropped error is written `_ = f.Close()`), and ruff
# (pinned in clients/python's test extra) on the client, the
# benchmarks and the Iceberg fixture generator; `ruff format` is not
# enforced, the code predates it.
lint: $(VENV_STAMP) $(STATICCHECK) $(ERRCHECK)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(GO) vet -tags=$(GOTAGS),quivertest ./cmd/quiver/
	$(STATICCHECK) ./...
	$(ERRCHECK) -tags $(GOTAGS) -ignoretests -exclude .errcheck-excludes ./...
	$(VENV)/bin/ruff check clients/python bench testdata/iceberg

test: tools build build-test lint test-go test-python

# The end-to-end package runs without -race: it drives real processes, and
# arrow-go's database/sql Flight SQL driver (v18.8.0) has a data race of its
# own when a result has several endpoints (Rows.streamRecordset writes
# Rows.schema for every endpoint while Rows.Columns reads it). Everything
# else, including the e2e harness, runs with -race. cmd/quiver runs twice:
# as the release build (its test hooks must be no-ops) and with the hooks.
# The e2e tests run bin/quiver-test and check bin/quiver has no hooks.
test-go: $(BIN) $(TEST_BIN)
	$(GO) test -race -count=1 -timeout 30m $$($(GO) list ./... | grep -v '/e2e$$')
	$(GO) test -race -count=1 -tags=$(GOTAGS),quivertest ./cmd/quiver/
	$(GO) test -count=1 -timeout 30m ./e2e/

# Execute the notebooks against the server make demo runs (on the default
# address) and store their outputs, stripped of volatile ids.
notebooks:
	$(VENV)/bin/python notebooks/refresh.py

test-python:
	$(VENV)/bin/pytest -q clients/python/tests notebooks
	$(VENV)/bin/pytest -q bench/tests

# Each fuzz target runs for FUZZTIME; seed corpora live in testdata/fuzz/.
FUZZTIME ?= 30s
FUZZ_TARGETS := ./auth:FuzzParseAuthorization ./auth:FuzzVerify ./planner:FuzzSandbox ./fragwire:FuzzVerify ./flightserver:FuzzDecodeTicket
fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; done

# Benchmarks against same-run baselines; writes BENCHMARKS.md and bench/charts/.
# BENCH picks a subset (stream,latency,memory,tpch,soak); BENCH_QUICK=1 runs
# them at a small scale in minutes (a smoke test, not a result).
BENCH ?= stream,latency,memory,tpch,soak
bench: tools build
	QUIVER_BENCH_COMMAND='make bench$(if $(filter-out stream$(COMMA)latency$(COMMA)memory$(COMMA)tpch$(COMMA)soak,$(BENCH)), BENCH=$(BENCH))$(if $(BENCH_QUICK), BENCH_QUICK=1)' \
	  $(VENV)/bin/python bench/run.py --only $(BENCH) $(if $(BENCH_QUICK),--quick)

clean:
	rm -rf bin
