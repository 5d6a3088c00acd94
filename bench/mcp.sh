#!/usr/bin/env bash
# Tool calls through MCP proxies (see docs/BENCHMARKS.md, "/mcp tool calls").
#
#   bench/mcp.sh [BUILD_DIR]     BUILD_DIR holds mcpproxy, mcp-bench, mcp-demo-server (default: build)
#
# In one run, against the same stdio server (build/mcp-demo-server, tool
# echo {"text":"hello"}), at concurrency 1 and 16:
#   - direct stdio calls (the floor: no proxy at all),
#   - mcpproxy's /mcp,
#   - the npm package mcp-proxy (pinned below, installed into a temp dir from
#     the npm registry; --server stream, its Streamable HTTP endpoint).
# Prints a markdown table (calls/s, p50/p99, proxy CPU µs per call from
# /proc/PID/stat) and the ratios; the raw JSON lines stay in $OUT. Env:
# CALLS (default 20000 per run), MCP_PROXY_VERSION (default 6.7.19).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-${MCPPROXY_BUILD_DIR:-$ROOT/build}}
PROXY=$BUILD/mcpproxy
BENCH=$BUILD/mcp-bench
SERVER=$BUILD/mcp-demo-server
for bin in "$PROXY" "$BENCH" "$SERVER"; do
  [[ -x $bin ]] || { echo "mcp.sh: $bin not found (build it first)" >&2; exit 1; }
done
# The config names the server by path, read from another directory.
BUILD=$(cd "$BUILD" && pwd)
PROXY=$BUILD/mcpproxy
BENCH=$BUILD/mcp-bench
SERVER=$BUILD/mcp-demo-server
for tool in jq npm node; do
  command -v $tool >/dev/null || { echo "mcp.sh: $tool is needed" >&2; exit 1; }
done
CALLS=${CALLS:-20000}
MCP_PROXY_VERSION=${MCP_PROXY_VERSION:-6.7.19}

OUT=${OUT:-$(mktemp -d /tmp/mcpproxy-mcp-bench.XXXXXX)}
mkdir -p "$OUT/cfg" "$OUT/npm"
RESULTS=$OUT/results.jsonl
: > "$RESULTS"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

echo "+ npm install mcp-proxy@$MCP_PROXY_VERSION into $OUT/npm" >&2
npm install --prefix "$OUT/npm" "mcp-proxy@$MCP_PROXY_VERSION" --no-audit --no-fund --loglevel=error >&2

run() { # MODE mcp-bench arguments...; appends its JSON line to RESULTS
  echo "+ mcp-bench $1 --calls $CALLS ${*:2}" >&2
  local line
  line=$("$BENCH" "$1" --calls "$CALLS" "${@:2}")
  echo "$line" >> "$RESULTS"
  # Failed calls take another path: their numbers are not a call's cost.
  jq -e '.failed == 0' <<<"$line" >/dev/null || { echo "mcp.sh: calls failed: $line" >&2; exit 1; }
}
free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# The floor: the server on our own pipes.
for c in 1 16; do
  run stdio --label stdio --concurrency "$c" -- "$SERVER" --name demo 2>/dev/null
done

# mcpproxy (its config in a directory of its own: it watches that directory).
cat > "$OUT/cfg/config.json" <<JSON
{"mcpServers":[{"name":"demo","command":"$SERVER","args":["--name","demo"]}]}
JSON
"$PROXY" --config "$OUT/cfg/config.json" --listen 127.0.0.1:0 --log-format json --log-level info \
  > "$OUT/mcpproxy.out" 2> "$OUT/mcpproxy.log" &
PID=$!
PIDS+=("$PID")
URL=
for _ in $(seq 100); do
  URL=$(jq -r 'select(.msg=="listening") | .url' "$OUT/mcpproxy.log" 2>/dev/null | head -1)
  [[ -n $URL ]] && curl -sf "$URL/api/servers/status" | jq -e '.servers[0].status=="Ready"' >/dev/null 2>&1 && break
  kill -0 "$PID" 2>/dev/null || { cat "$OUT/mcpproxy.log" >&2; exit 1; }
  sleep 0.1
done
curl -sf "$URL/api/servers/status" | jq -e '.servers[0].status=="Ready"' >/dev/null || { echo "mcp.sh: demo never Ready" >&2; exit 1; }
for c in 1 16; do
  run http --label mcpproxy --url "$URL/mcp" --tool demo__echo --concurrency "$c" --pid "$PID"
done
kill "$PID"; wait "$PID" 2>/dev/null || true

# npm mcp-proxy: its bin is a node script, so the pid we start is node itself.
PORT=$(free_port)
"$OUT/npm/node_modules/.bin/mcp-proxy" --port "$PORT" --host 127.0.0.1 --server stream -- "$SERVER" --name demo \
  > "$OUT/mcp-proxy.log" 2>&1 &
NPID=$!
PIDS+=("$NPID")
for _ in $(seq 200); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' \
    -H 'accept: application/json, text/event-stream' -d '{}' "http://127.0.0.1:$PORT/mcp" || true)
  [[ $code != 000 ]] && break
  kill -0 "$NPID" 2>/dev/null || { cat "$OUT/mcp-proxy.log" >&2; exit 1; }
  sleep 0.1
done
for c in 1 16; do
  run http --label "mcp-proxy@$MCP_PROXY_VERSION" --url "http://127.0.0.1:$PORT/mcp" --tool echo --concurrency "$c" --pid "$NPID"
done
kill "$NPID"; wait "$NPID" 2>/dev/null || true

echo
echo "| target | concurrency | calls/s | p50 µs | p99 µs | proxy CPU µs/call | reconnects |"
echo "|---|---|---|---|---|---|---|"
jq -r '"| \(.label) | \(.concurrency) | \(.calls_per_s) | \(.p50_us) | \(.p99_us) | \(.proxy_cpu_us_per_call // "—") | \(.reconnects) |"' "$RESULTS"
echo
jq -rs '
  def at(l; c): map(select(.label == l and .concurrency == c))[0];
  (map(select(.label | startswith("mcp-proxy@")))[0].label) as $npm
  | [1, 16][] as $c
  | at("mcpproxy"; $c) as $m | at($npm; $c) as $n | at("stdio"; $c) as $s
  | "concurrency \($c): mcpproxy/\($npm) calls/s \(($m.calls_per_s / $n.calls_per_s * 100 | round) / 100)x, proxy CPU per call \(($n.proxy_cpu_us_per_call / $m.proxy_cpu_us_per_call * 100 | round) / 100)x less; mcpproxy reaches \(($m.calls_per_s / $s.calls_per_s * 100 | round))% of direct stdio calls/s"
' "$RESULTS"
echo
echo "raw results: $RESULTS" >&2
