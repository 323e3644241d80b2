# forkwatch — build, test and demo. `make demo` and `make test` do all the set-up
# on a fresh Debian 12, 13 or sid machine (missing packages are installed when run as root).

PREFIX ?= /usr/local
BUILD  ?= build
CC     ?= cc
PYTHON ?= python3

WARN    := -Wall -Wextra -Werror
CSTD    := -std=c11 -D_GNU_SOURCE
OPT     ?= -O2 -g
CFLAGS_AGENT := $(CSTD) $(WARN) $(OPT) -fPIC -fvisibility=hidden -pthread -I$(BUILD)/gen
CFLAGS_TOOL  := $(CSTD) $(WARN) $(OPT) -pthread

# Agent: intercept_*.c hold the interposed symbols; everything else is logic
# that the unit tests link directly (without interposing the test runner's locks).
AGENT_SRCS      := $(sort $(wildcard agent/*.c))
AGENT_INTERCEPT := $(filter agent/intercept_%.c,$(AGENT_SRCS))
AGENT_LOGIC     := $(filter-out $(AGENT_INTERCEPT),$(AGENT_SRCS))
AGENT_OBJS      := $(AGENT_SRCS:%.c=$(BUILD)/obj/%.o)
AGENT_LOGIC_OBJS:= $(AGENT_LOGIC:%.c=$(BUILD)/obj/%.o)
AGENT_LIBS      := -ldl -lunwind -lpthread

CLI_SRCS := $(sort $(wildcard cli/*.c))
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
# json-c (Debian's libjson-c-dev) parses the reports and attach's JSON; pkg-config gives its flags.
JSONC_CFLAGS := $(shell pkg-config --cflags json-c 2>/dev/null)
JSONC_LIBS   := $(shell pkg-config --libs json-c 2>/dev/null || echo -ljson-c)
CLI_LIBS := -ldw -lelf -lpthread $(JSONC_LIBS)

UNIT_SRCS := $(sort $(wildcard tests/unit/*.c))

FIXTURE_C_SRCS := $(sort $(wildcard fixtures/c/*.c))
FIXTURE_LIBS   := $(patsubst fixtures/c/lib%.c,$(BUILD)/fixtures/lib%.so,$(filter fixtures/c/lib%.c,$(FIXTURE_C_SRCS)))
FIXTURE_PROGS  := $(patsubst fixtures/c/%.c,$(BUILD)/fixtures/%,$(filter-out fixtures/c/lib%.c,$(FIXTURE_C_SRCS)))

BENCH_C_SRCS := $(sort $(wildcard bench/*.c))
BENCH_PROGS  := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_C_SRCS))

DEPS_STAMP := $(BUILD)/.deps-ok

.PHONY: all deps agent cli fixtures unit-tests test demo bench install clean check-cpython
all: $(DEPS_STAMP) $(BUILD)/libforkwatch.so $(BUILD)/forkwatch fixtures $(BUILD)/.gdb-bytecode

# Byte-compile the GDB package with GDB's own Python: where PYTHONDONTWRITEBYTECODE is set,
# every `forkwatch attach/core` would otherwise compile it from source (about 0.15 s each).
$(BUILD)/.gdb-bytecode: $(wildcard gdb/*.py gdb/forkwatch/*.py gdb/forkwatch/cpython/*.py) | $(DEPS_STAMP)
	@gdb -nx -q -batch -ex 'python import compileall, sys; sys.exit(0 if compileall.compile_dir("gdb", quiet=1) else 1)' \
		|| echo "note: could not byte-compile gdb/ (forkwatch still works, it starts slower)"
	@mkdir -p $(BUILD) && touch $@

deps: $(DEPS_STAMP)
$(DEPS_STAMP): tools/install-deps.sh
	@sh tools/install-deps.sh
	@mkdir -p $(BUILD) && touch $@

agent: $(BUILD)/libforkwatch.so
cli: $(BUILD)/forkwatch
fixtures: $(FIXTURE_LIBS) $(FIXTURE_PROGS)

# The agent's CPython offsets come from the GDB side's table (one table for both):
# tools/gen_py_offsets.py writes them as a header; it fails when the table breaks a
# promise the agent's code relies on (docs/ADDING_A_PYTHON.md).
PY_OFFSETS_H := $(BUILD)/gen/fw_py_offsets.h
$(PY_OFFSETS_H): tools/gen_py_offsets.py gdb/forkwatch/cpython/layouts.py
	@mkdir -p $(dir $@)
	$(PYTHON) tools/gen_py_offsets.py gdb/forkwatch/cpython/layouts.py > $@.tmp || { rm -f $@.tmp; exit 1; }
	@mv $@.tmp $@

$(BUILD)/obj/agent/%.o: agent/%.c $(wildcard agent/*.h) $(PY_OFFSETS_H) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_AGENT) -c $< -o $@

$(BUILD)/libforkwatch.so: $(AGENT_OBJS)
	$(CC) -shared -Wl,-z,nodelete -Wl,--no-undefined -o $@ $^ $(AGENT_LIBS)

$(BUILD)/obj/cli/%.o: cli/%.c $(wildcard cli/*.h) agent/forkwatch_abi.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_TOOL) $(JSONC_CFLAGS) -Iagent -c $< -o $@

$(BUILD)/forkwatch: $(CLI_OBJS)
	$(CC) -o $@ $^ $(CLI_LIBS)

# Fixtures keep frame info and symbols: they are what users' programs look like.
$(BUILD)/fixtures/lib%.so: fixtures/c/lib%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O1 -g -fPIC -shared -pthread -o $@ $<

$(BUILD)/fixtures/%: fixtures/c/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O1 -g -rdynamic -pthread -o $@ $< -lgomp

# The unit tests also check the command's JSON glue (cli/json_doc.c) and its escaper
# (cli/text_escape.c) against tests/escape_table.json, found through FW_SRCDIR.
$(BUILD)/tests/unit_tests: $(UNIT_SRCS) $(wildcard tests/unit/*.h) $(AGENT_LOGIC_OBJS) $(PY_OFFSETS_H) tests/abi_offsets.c cli/text_escape.c cli/text_escape.h cli/json_doc.c cli/json_doc.h tests/escape_table.json
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O1 -g -pthread -Iagent -I$(BUILD)/gen -Icli $(JSONC_CFLAGS) -DFW_SRCDIR='"$(CURDIR)"' -o $@ $(UNIT_SRCS) cli/text_escape.c cli/json_doc.c $(AGENT_LOGIC_OBJS) -lcriterion $(AGENT_LIBS) $(JSONC_LIBS)
	$(CC) $(CSTD) $(WARN) -Iagent -o $(BUILD)/tests/abi_offsets tests/abi_offsets.c

unit-tests: $(BUILD)/tests/unit_tests

$(BUILD)/bench/%: bench/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O2 -g -pthread -o $@ $< -lm

# The README's test command: unit tests, agent integration, GDB end-to-end, on this host and
# inside Debian 13 and sid roots. `make test TESTS="unit shapes"` runs only those suites.
TESTS ?=
test: all unit-tests
	@FORKWATCH_SUITES="$(TESTS)" sh tests/run_tests.sh

# The README's demo: the Wub Machine deadlock caught three ways.
demo: all
	@sh demo/demo.sh

bench: all $(BENCH_PROGS)
	@sh bench/run_bench.sh

check-cpython: all
	@$(PYTHON) tests/cpython_suites.py --full

# Fuzz the agent-registry decoder (libFuzzer + embedded CPython 3.11) for FUZZ_SECONDS;
# FUZZ_KEEP=1 merges new inputs into tests/fuzz/corpus. tests/fuzz/README.md.
FUZZ_SECONDS ?= 60
# The release's clang (clang-14 on Debian 12, clang on 13 and sid) and its default CPython.
FUZZ_CC ?= $(firstword $(shell command -v clang-14 clang 2>/dev/null) clang)
FUZZ_PYCONFIG ?= $(firstword $(wildcard /usr/bin/python3.11-config) /usr/bin/python3-config)
$(BUILD)/fuzz/fuzz_registry: tests/fuzz/fuzz_registry.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(WARN) -g -O1 -fsanitize=fuzzer $$($(FUZZ_PYCONFIG) --includes) \
	    -DFW_FUZZ_DIR_DEFAULT='"$(CURDIR)/tests/fuzz"' -o $@ $< $$($(FUZZ_PYCONFIG) --ldflags --embed)
.PHONY: fuzz
fuzz: $(BUILD)/fuzz/fuzz_registry
	@FUZZ_SECONDS=$(FUZZ_SECONDS) BUILD=$(CURDIR)/$(BUILD) sh tests/fuzz/run_fuzz.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/share/forkwatch/gdb
	install -m 0755 $(BUILD)/forkwatch $(DESTDIR)$(PREFIX)/bin/forkwatch
	install -m 0755 $(BUILD)/libforkwatch.so $(DESTDIR)$(PREFIX)/lib/libforkwatch.so
	cp -R gdb/. $(DESTDIR)$(PREFIX)/share/forkwatch/gdb/
	find $(DESTDIR)$(PREFIX)/share/forkwatch/gdb -name __pycache__ -prune -exec rm -rf {} +
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0644 docs/forkwatch.1 $(DESTDIR)$(PREFIX)/share/man/man1/forkwatch.1
	install -m 0644 packaging/bash-completion/forkwatch $(DESTDIR)$(PREFIX)/share/bash-completion/completions/forkwatch

# ---- Packages (issue 14; packaging/README.md). The CLI finds an installed agent at
# ../lib/<multiarch>/forkwatch/ beside itself (cli/paths.c): paths.o gets the triplet.
FW_MULTIARCH ?= $(shell $(CC) -print-multiarch 2>/dev/null)
ifneq ($(FW_MULTIARCH),)
$(BUILD)/obj/cli/paths.o: CFLAGS_TOOL += -DFW_MULTIARCH='"$(FW_MULTIARCH)"'
endif
# A paths.o built before this flag existed would make a package whose command misses its agent.
$(BUILD)/obj/cli/paths.o: Makefile
.PHONY: deb wheel
# Debian's own python3, which has python3-wheel (PATH may lead to a pyenv one).
WHEEL_PYTHON ?= /usr/bin/python3
# build/forkwatch_VERSION_ARCH.deb for the release this runs on (dpkg-dev's tools).
deb: $(BUILD)/libforkwatch.so $(BUILD)/forkwatch
	@sh packaging/deb/build-deb.sh $(BUILD) $(FW_MULTIARCH)
# build/forkwatch-VERSION-py3-none-linux_ARCH.whl: the CLI, agent and GDB package inside.
wheel: $(BUILD)/libforkwatch.so $(BUILD)/forkwatch
	@$(WHEEL_PYTHON) packaging/wheel/build_wheel.py --build $(BUILD)

clean:
	rm -rf $(BUILD)
