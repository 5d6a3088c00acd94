# mcpproxy - the two commands a newcomer needs:
#   make run    build and start mcpproxy with the demo config (http://127.0.0.1:8080)
#   make test   build, then run every test (the layout and format checks, unit and integration under
#               ASan+UBSan, then unit, integration, valgrind and browser on the plain
#               build, then the fuzzers)
# Both install what they need first (scripts/bootstrap.sh).

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 20
JOBS       ?= $(shell nproc)
CONFIG     ?= examples/demo.json

.PHONY: all deps deps-test build build-asan fuzz run test clean

all: build

deps:
	@scripts/bootstrap.sh build

deps-test:
	@scripts/bootstrap.sh test

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

build-asan: deps-test
	@cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DMCPPROXY_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD_ASAN) -j$(JOBS)

# The demo runs on a copy: changes made from the dashboard or the API are
# saved to the config file, and examples/ should stay as checked in.
run: build
	@[ -f $(BUILD)/demo.json ] || cp $(CONFIG) $(BUILD)/demo.json
	./$(BUILD)/mcpproxy --config $(BUILD)/demo.json

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
