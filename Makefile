# mcpproxy - the two commands a newcomer needs:
#   make run    build and start mcpproxy with the demo config (http://127.0.0.1:8080)
#   make test   build, then run every test (the layout and format checks, unit and integration under
#               ASan+UBSan, then unit, integration, valgrind and browser on the plain
#               build, then the fuzzers)
# Both install what they need first (scripts/bootstrap.sh). And:
#   make run LISTEN=HOST:PORT    the demo on another address
#   make demo-reset              the demo's config (build/demo.json) back to examples/demo.json
#   make cluster-demo            three nodes on 8081-8083 sharing one history (starts nats-server -js)
#   make install [PREFIX=/usr/local] [DESTDIR=]   binaries, man page, systemd user unit
#   make ... V=1                 show every build command (builds are quiet otherwise)

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 20
JOBS       ?= $(shell nproc)
CONFIG     ?= examples/demo.json
LISTEN     ?=
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
UNITDIR    ?= $(PREFIX)/lib/systemd/user
V          ?= 0

# $(call cmake_build,DIR): the build's output goes to DIR/build.log and is
# shown only if it fails (warnings are errors, so a build that passes has
# nothing to say); V=1 shows every command as it runs.
ifeq ($(V),1)
cmake_build = cmake --build $(1) -j$(JOBS) -- VERBOSE=1
cmake_quiet =
else
cmake_build = cmake --build $(1) -j$(JOBS) >$(1)/build.log 2>&1 \
	|| { cat $(1)/build.log; echo "make: the build in $(1) failed (log: $(1)/build.log)" >&2; exit 1; }; \
	echo "built $(1)"
cmake_quiet = >/dev/null
endif

.PHONY: all deps deps-test build build-asan fuzz run demo-reset cluster-demo install uninstall test clean

all: build

deps:
	@scripts/bootstrap.sh build

deps-test:
	@scripts/bootstrap.sh test

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(cmake_quiet)
	@$(call cmake_build,$(BUILD))

build-asan: deps-test
	@cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DMCPPROXY_SANITIZE=ON $(cmake_quiet)
	@$(call cmake_build,$(BUILD_ASAN))

# The demo runs on a copy: changes made from the dashboard or the API are
# saved to the config file, and examples/ should stay as checked in. Its
# paths are relative to the copy's directory, so this works from anywhere
# (make -C /path/to/mcpproxy run).
run: build
	@[ -f $(BUILD)/demo.json ] || cp $(CONFIG) $(BUILD)/demo.json
	$(BUILD)/mcpproxy --config $(BUILD)/demo.json $(if $(LISTEN),--listen $(LISTEN))

# Three nodes sharing one event history and one view of their servers
# through NATS JetStream (a nats-server of its own unless one answers at
# NATS_URL): scripts/cluster-demo.sh.
cluster-demo: build
	@scripts/bootstrap.sh cluster
	scripts/cluster-demo.sh $(BUILD)

demo-reset:
	@mkdir -p $(BUILD)
	cp $(CONFIG) $(BUILD)/demo.json

# mcpproxy and mcpproxy-exec side by side (mcpproxy starts servers through
# the helper next to itself), the man page made from --help, and the
# systemd user unit. An existing build directory is built as configured
# (so BUILD=build-asan stays a sanitizer build); a missing one is made.
install:
	@if [ -f $(BUILD)/CMakeCache.txt ]; then $(call cmake_build,$(BUILD)); else $(MAKE) --no-print-directory build; fi
	@command -v help2man >/dev/null || scripts/bootstrap.sh build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BUILD)/mcpproxy $(BUILD)/mcpproxy-exec $(DESTDIR)$(BINDIR)/
	help2man --no-info --section=1 --name="one MCP endpoint for many MCP servers, with live events" \
		--output=$(BUILD)/mcpproxy.1 $(abspath $(BUILD))/mcpproxy
	install -m 0644 $(BUILD)/mcpproxy.1 $(DESTDIR)$(MANDIR)/man1/mcpproxy.1
	sed 's|@BINDIR@|$(BINDIR)|g' contrib/mcpproxy.service.in >$(BUILD)/mcpproxy.service
	install -m 0644 $(BUILD)/mcpproxy.service $(DESTDIR)$(UNITDIR)/mcpproxy.service

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/mcpproxy $(DESTDIR)$(BINDIR)/mcpproxy-exec \
		$(DESTDIR)$(MANDIR)/man1/mcpproxy.1 $(DESTDIR)$(UNITDIR)/mcpproxy.service

# libFuzzer harnesses (clang), each replaying its corpus and then fuzzing for
# FUZZ_SECONDS; any finding fails.
fuzz: deps-test
	@fuzz/run.sh $(BUILD_FUZZ) $(FUZZ_SECONDS)

# Unit and integration tests run under ASan+UBSan first (valgrind's test
# cannot: the two do not mix; it runs in the plain build). ASan's quarantine
# would hold freed memory and read as growth in the tests that watch RSS, so
# it is off; leak detection stays on. Then everything against the plain
# build, browser tests included, then the fuzzers.
test: deps-test build build-asan
	scripts/check_layers.py --build $(BUILD)
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')
	cd $(BUILD_ASAN) && ctest -L unit --output-on-failure
	cd $(BUILD_ASAN) && ASAN_OPTIONS=quarantine_size_mb=0 ctest -L integration -E valgrind --output-on-failure
	cd $(BUILD) && ctest --output-on-failure
	@fuzz/run.sh $(BUILD_FUZZ) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
