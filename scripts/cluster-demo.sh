#!/usr/bin/env bash
# cluster-demo.sh - three mcpproxy nodes (a, b, c) on one machine sharing one
# event history and one view of their servers through NATS JetStream.
#
#   scripts/cluster-demo.sh [BUILD_DIR]     (make cluster-demo)
#
# Uses the NATS server at $NATS_URL (default nats://127.0.0.1:4222) when one
# answers there; otherwise starts its own `nats-server -js` on that port,
# its store in BUILD_DIR/cluster-demo/nats. Node a listens on
# 127.0.0.1:8081, b on 8082, c on 8083, each with one demo MCP server of its
# own (demo-a, demo-b, demo-c); their configs are written to
# BUILD_DIR/cluster-demo/ (kept across runs, like `make run`'s copy). Ctrl-C
# stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
nats_url=${NATS_URL:-nats://127.0.0.1:4222}
bin="$build/mcpproxy"
[ -x "$bin" ] || { echo "cluster-demo: $bin not found: run make build first" >&2; exit 1; }
dir="$build/cluster-demo"
mkdir -p "$dir"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' INT TERM EXIT

hostport=${nats_url#nats://}
host=${hostport%:*}
port=${hostport##*:}
answers() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }
if answers; then
  echo "cluster-demo: using the NATS server at $nats_url"
else
  command -v nats-server >/dev/null || {
    echo "cluster-demo: nats-server not found: scripts/bootstrap.sh cluster installs it" >&2
    exit 1
  }
  nats-server -js -a "$host" -p "$port" -sd "$dir/nats" >"$dir/nats.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do answers && break; sleep 0.1; done
  answers || { echo "cluster-demo: nats-server did not start, see $dir/nats.log" >&2; exit 1; }
  echo "cluster-demo: started nats-server -js on $nats_url (log: $dir/nats.log)"
fi

listen=8081
for node in a b c; do
  # The demo server's path is relative to the config's directory.
  [ -f "$dir/$node.json" ] || cat > "$dir/$node.json" <<JSON
{
  "listen": "127.0.0.1:$listen",
  "database": "$node.db",
  "mcpServers": [
    {"name": "demo-$node", "command": "../mcp-demo-server", "args": ["--name", "demo-$node"]}
  ],
  "cluster": {"nats_url": "$nats_url", "node": "$node"}
}
JSON
  "$bin" --config "$dir/$node.json" &
  pids+=($!)
  echo "cluster-demo: node $node on http://127.0.0.1:$listen"
  listen=$((listen + 1))
done
wait
