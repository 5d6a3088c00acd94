#!/usr/bin/env bash
# run.sh - build the libFuzzer harnesses with clang and run each one for a
# bounded time. Exits non-zero on any finding (crash, leak, timeout,
# sanitizer report); the offending input is left in BUILD_DIR/fuzz/artifacts/.
#
#   fuzz/run.sh [BUILD_DIR] [SECONDS]      defaults: build-fuzz 20
#
# Needs clang and libFuzzer (Debian: clang libclang-rt-14-dev).
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build-fuzz}
seconds=${2:-20}
case $seconds in ''|*[!0-9]*) echo "run.sh: SECONDS must be a number" >&2; exit 2 ;; esac

CC=${CC:-clang} cmake -S . -B "$build" -DMCPPROXY_FUZZ=ON -DMCPPROXY_FUZZ_SECONDS="$seconds" >/dev/null
targets=(fuzz_jsonrpc_lines fuzz_sse_parse fuzz_config fuzz_import fuzz_api_events fuzz_query fuzz_access fuzz_json_scan)
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"
cd "$build" && ctest -L fuzz --output-on-failure --no-tests=error
