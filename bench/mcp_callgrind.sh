#!/usr/bin/env bash
# Instructions per /mcp tool call (see docs/BENCHMARKS.md, "/mcp tool calls").
#
#   bench/mcp_callgrind.sh [BUILD_DIR]     default: build
#
# Runs mcpproxy under valgrind --tool=callgrind twice, with the same demo
# server as bench/mcp.sh, and makes FEW then MANY tool calls at concurrency
# 1 (mcp-bench http). The difference of the two runs' instruction counts
# divided by the difference of the calls is what one call costs the proxy
# in user space, start-up and shutdown cancelled out. Unlike CPU time this
# does not move with the machine's load. Env: FEW (default 500), MANY
# (default 3500). The profile of the MANY run stays in $OUT for
# callgrind_annotate.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-${MCPPROXY_BUILD_DIR:-$ROOT/build}}
FEW=${FEW:-500}
MANY=${MANY:-3500}
for bin in "$BUILD/mcpproxy" "$BUILD/mcp-bench" "$BUILD/mcp-demo-server"; do
  [[ -x $bin ]] || { echo "mcp_callgrind.sh: $bin not found (build it first)" >&2; exit 1; }
done
BUILD=$(cd "$BUILD" && pwd) # the config names the server by this path, read from another directory
for tool in valgrind jq curl; do
  command -v $tool >/dev/null || { echo "mcp_callgrind.sh: $tool is needed" >&2; exit 1; }
done
OUT=${OUT:-$(mktemp -d /tmp/mcpproxy-callgrind.XXXXXX)}
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

# Total instructions of one proxy run that makes $1 calls.
run() {
  local calls=$1 dir=$OUT/run-$1 url=
  mkdir -p "$dir/cfg"
  cat > "$dir/cfg/config.json" <<JSON
{"mcpServers":[{"name":"demo","command":"$BUILD/mcp-demo-server","args":["--name","demo"]}]}
JSON
  valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" \
    "$BUILD/mcpproxy" --config "$dir/cfg/config.json" --listen 127.0.0.1:0 --log-format json --log-level info \
    > "$dir/mcpproxy.out" 2> "$dir/mcpproxy.log" &
  PID=$!
  for _ in $(seq 600); do
    url=$(jq -Rr 'fromjson? | select(.msg=="listening") | .url' "$dir/mcpproxy.log" 2>/dev/null | head -1)
    [[ -n $url ]] && curl -sf "$url/api/servers/status" | jq -e '.servers[0].status=="Ready"' >/dev/null 2>&1 && break
    kill -0 "$PID" 2>/dev/null || { cat "$dir/mcpproxy.log" >&2; exit 1; }
    sleep 0.1
  done
  curl -sf "$url/api/servers/status" | jq -e '.servers[0].status=="Ready"' >/dev/null 2>&1 ||
    { echo "mcp_callgrind.sh: demo never Ready (log: $dir/mcpproxy.log)" >&2; exit 1; }
  "$BUILD/mcp-bench" http --url "$url/mcp" --tool demo__echo --concurrency 1 --calls "$calls" --warmup 0 \
    > "$dir/bench.json"
  # Failed calls take another path and would count as a call's cost.
  jq -e '.failed == 0' "$dir/bench.json" >/dev/null ||
    { echo "mcp_callgrind.sh: calls failed: $(cat "$dir/bench.json")" >&2; exit 1; }
  kill "$PID"
  wait "$PID" 2>/dev/null || true
  PID=
  # "summary: N" or "totals: N" (events: Ir).
  awk '/^(summary|totals):/ {print $2; exit}' "$dir/callgrind.out"
}

few=$(run "$FEW")
many=$(run "$MANY")
per_call=$(( (many - few) / (MANY - FEW) ))
echo "instructions: $few for $FEW calls, $many for $MANY calls: $per_call per call"
echo "profile: callgrind_annotate $OUT/run-$MANY/callgrind.out" >&2
