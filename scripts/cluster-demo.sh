#!/usr/bin/env bash
# cluster-demo.sh - three mcpproxy nodes (a, b, c) on one machine sharing one
# event history through the NATS server at $NATS_URL (default
# nats://127.0.0.1:4222; start one first with `nats-server -js &`).
#
#   scripts/cluster-demo.sh [BUILD_DIR]     (make cluster-demo)
#
# Node a listens on 127.0.0.1:8081, b on 8082, c on 8083; their configs are
# written to BUILD_DIR/cluster-demo/. Ctrl-C stops all three.
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
port=8081
for node in a b c; do
  cat > "$dir/$node.json" <<JSON
{"listen": "127.0.0.1:$port", "mcpServers": [], "cluster": {"nats_url": "$nats_url", "node": "$node"}}
JSON
  "$bin" --config "$dir/$node.json" &
  pids+=($!)
  echo "cluster-demo: node $node on http://127.0.0.1:$port"
  port=$((port + 1))
done
wait
