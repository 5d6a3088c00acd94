#!/usr/bin/env bash
# Cluster benchmark (see docs/BENCHMARKS.md, "Cluster"): end-to-end latency
# and deliveries/s through a NATS JetStream stream, for 1, 2 and 3 nodes,
# against a single node without a cluster, in one run.
#
#   bench/cluster.sh [BUILD_DIR]     BUILD_DIR holds mcpproxy and ws-bench (default: build)
#
# Per case a fresh nats-server -js (a fresh store) and fresh mcpproxy
# processes on free loopback ports, each case on its own stream (and its own
# nats-server):
#   single   one mcpproxy, no cluster: publish and read on it (bench/run.sh's path)
#   1 node   node a in a cluster: publish on a, read on a (through the stream)
#   2 nodes  publish on a, read on b
#   3 nodes  publish on a, read on c (b is there, reading the stream too)
# Events go in as POST /api/events on the publishing node (ws-bench
# --pub-url) and are timed at the WebSocket clients of the reading node:
# latency = received - sent, end to end. Per case: latency at fixed rates,
# then a throughput ramp (100 clients, 100 events per POST). CPU of each
# process per event is read from /proc around the ramp. PROFILE=1 also
# records `perf record -g` of the publishing and the reading node during a
# steady run. Everything shares this machine's cores with the load
# generator and nats-server, and with whatever else runs (load average
# printed). Raw JSON lines stay in $OUT. Takes about 4 minutes.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-${MCPPROXY_BUILD_DIR:-$ROOT/build}}
PROXY=$BUILD/mcpproxy
BENCH=$BUILD/ws-bench
for bin in "$PROXY" "$BENCH"; do
  [[ -x $bin ]] || { echo "cluster.sh: $bin not found (build it first)" >&2; exit 1; }
done
for tool in jq nats-server curl; do
  command -v $tool >/dev/null || { echo "cluster.sh: $tool is needed" >&2; exit 1; }
done
ulimit -n "$(ulimit -Hn)"

OUT=${OUT:-$(mktemp -d /tmp/mcpproxy-cluster-bench.XXXXXX)}
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: > "$RESULTS"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime, in clock ticks
HZ=$(getconf CLK_TCK)

# A fresh nats-server per case (one account holds one mcpproxy stream: the
# subjects mcpproxy.events.> are taken). Sets NATS_URL and NATS_PID.
start_nats() { # CASE
  local port mon
  port=$(free_port); mon=$(free_port)
  mkdir -p "$OUT/nats-$1"
  nats-server -js -a 127.0.0.1 -p "$port" -m "$mon" -sd "$OUT/nats-$1" 2> "$OUT/nats-$1.log" &
  NATS_PID=$!
  PIDS+=("$NATS_PID")
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$mon/healthz?js-enabled-only=true" >/dev/null && break
    sleep 0.1
  done
  NATS_URL=nats://127.0.0.1:$port
}

# start_node NAME STREAM|"" -> sets NODE_URL and NODE_PID; waits for
# "listening" and, in a cluster, for /healthz to say connected.
start_node() {
  local name=$1 stream=$2 cfg=$OUT/$1-$2.json log=$OUT/$1-$2.log
  local cluster=""
  [[ -n $stream ]] && cluster=",\"cluster\":{\"nats_url\":\"$NATS_URL\",\"node\":\"$name\",\"stream\":\"$stream\"}"
  cat > "$cfg" <<JSON
{"mcpServers":[],"websocket":{"max_clients":20000,"send_queue":256},
 "limits":{"max_connections":20000,"max_connections_per_address":20000}$cluster}
JSON
  "$PROXY" --config "$cfg" --listen 127.0.0.1:0 --log-format json --log-level info > /dev/null 2> "$log" &
  NODE_PID=$!
  PIDS+=("$NODE_PID")
  NODE_URL=
  for _ in $(seq 200); do
    NODE_URL=$(jq -r 'select(.msg=="listening") | .url' "$log" 2>/dev/null | head -1)
    if [[ -n $NODE_URL ]]; then
      [[ -z $stream ]] && return 0
      [[ $(curl -s "$NODE_URL/healthz" | jq -r '.cluster.state') == connected ]] && return 0
    fi
    kill -0 "$NODE_PID" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  echo "cluster.sh: node $name did not come up (see $log)" >&2
  exit 1
}

stop_nodes() { # PIDs...
  for p in "$@"; do kill "$p" 2>/dev/null || true; done
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
}

# run CASE PUB_URL READ_URL READ_PID PUB_PID ws-bench-args...
run() {
  local case=$1 pub=$2 read=$3 rpid=$4 ppid=$5
  shift 5
  echo "+ [$case] ws-bench $* (publish $pub, read $read)" >&2
  local n0 r0 p0
  n0=$(cpu_ticks "$NATS_PID"); r0=$(cpu_ticks "$rpid"); p0=$(cpu_ticks "$ppid")
  "$BENCH" "$@" --url "$read" --pub-url "$pub" --pid "$rpid" |
    jq -c --arg case "$case" '. + {case: $case}' > "$OUT/run.jsonl"
  local n1 r1 p1 events
  n1=$(cpu_ticks "$NATS_PID"); r1=$(cpu_ticks "$rpid"); p1=$(cpu_ticks "$ppid")
  events=$(jq -s 'map(.published // 0) | add' "$OUT/run.jsonl")
  # CPU over the whole ws-bench call, per process, and per event published
  # in it (the publishing node's share is 0 when it is also the reader).
  jq -c --argjson nats "$(( n1 - n0 ))" --argjson rd "$(( r1 - r0 ))" --argjson pb "$(( p1 - p0 ))" \
    --argjson hz "$HZ" --argjson ev "$events" --argjson same "$([[ $rpid == "$ppid" ]] && echo true || echo false)" \
    '. + {call_events: $ev, cpu_s: {nats: ($nats / $hz), reader: ($rd / $hz), publisher: (if $same then 0 else $pb / $hz end)},
          cpu_us_per_event: {nats: ($nats / $hz * 1e6 / $ev), reader: ($rd / $hz * 1e6 / $ev),
                             publisher: (if $same then 0 else $pb / $hz * 1e6 / $ev end)}}' "$OUT/run.jsonl" >> "$RESULTS"
}

profile() { # CASE PUB_URL READ_URL READ_PID PUB_PID
  [[ ${PROFILE:-0} == 1 ]] || return 0
  local case=$1 pub=$2 read=$3 rpid=$4 ppid=$5
  "$BENCH" latency --clients 100 --rate 2000 --bulk 100 --seconds 8 --url "$read" --pub-url "$pub" > /dev/null &
  local b=$!
  sleep 3
  for who in reader:$rpid publisher:$ppid; do
    perf record -q -g -o "$OUT/perf-$case-${who%%:*}.data" -p "${who##*:}" -- sleep 3 2>/dev/null || true
    perf report -i "$OUT/perf-$case-${who%%:*}.data" --no-children --sort dso,sym -g none --stdio 2>/dev/null |
      grep -v '^#' | grep -v '^$' | head -30 > "$OUT/perf-$case-${who%%:*}.txt" || true
    [[ $rpid == "$ppid" ]] && break
  done
  wait $b || true
}

bench_case() { # CASE PUB_URL READ_URL READ_PID PUB_PID
  run "$@" latency --clients 100 --runs 100:1,1000:1,1000:100 --seconds 3
  run "$@" ramp --clients 100 --bulk 100 --rate 5000 --factor 1.25 --seconds 2
  profile "$@"
}

uptime > "$OUT/load-before.txt"

# Single node, no cluster (nats-server runs idle beside it, as in the others).
start_nats single
start_node s ""
bench_case single "$NODE_URL" "$NODE_URL" "$NODE_PID" "$NODE_PID"
stop_nodes "$NODE_PID" "$NATS_PID"

# 1, 2 and 3 nodes, each case on a fresh stream.
for n in 1 2 3; do
  start_nats "$n"
  urls=(); pids=()
  for name in a b c; do
    (( ${#urls[@]} < n )) || break
    start_node "$name" "BENCH$n"
    urls+=("$NODE_URL"); pids+=("$NODE_PID")
  done
  last=$((n - 1))
  bench_case "$n-node" "${urls[0]}" "${urls[$last]}" "${pids[$last]}" "${pids[0]}"
  stop_nodes "${pids[@]}" "$NATS_PID"
done

uptime > "$OUT/load-after.txt"

# ---- tables ---------------------------------------------------------------
ms() { echo 'def ms: if . >= 1000000 then "≥1000" else (. / 1000 * 100 | round / 100 | tostring) end;'; }

echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); nats-server $(nats-server --version | awk '{print $2}')"
echo "Load before: $(cut -d, -f3- "$OUT/load-before.txt" | sed 's/^ *//'); after: $(cut -d, -f3- "$OUT/load-after.txt" | sed 's/^ *//')"
echo
echo "### End-to-end latency (publish on the first node, 100 WebSocket clients on the last)"
echo
echo "| case | rate ev/s | events/POST | delivered ev/s | p50 ms | p99 ms | max ms | drops | clean |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
jq -r "$(ms)"' select(.mode=="latency") |
  "| \(.case) | \(.rate) | \(.bulk) | \(.delivered_per_s) | \(.p50_us|ms) | \(.p99_us|ms) | \(.max_us|ms) | \(.dropped_events) | \(.clean) |"' "$RESULTS"
echo
echo "### Throughput ramp (100 clients, 100 events per POST)"
echo
echo "| case | offered ev/s | published ev/s | delivered ev/s | p50 ms | p99 ms | clean |"
echo "|---|---:|---:|---:|---:|---:|---|"
jq -r "$(ms)"' select(.mode=="ramp") |
  "| \(.case) | \(.rate | round) | \(.publish_rate) | \(.delivered_per_s) | \(.p50_us|ms) | \(.p99_us|ms) | \(.clean) |"' "$RESULTS"
echo
echo "### Highest clean rate and CPU per event over the ramp"
echo
echo "| case | highest clean ev/s | deliveries/s (x100 clients) | CPU µs/event: reading node | publishing node | nats-server |"
echo "|---|---:|---:|---:|---:|---:|"
jq -r 'select(.mode=="ramp_result") |
  "| \(.case) | \(.max_clean_rate) | \(.max_clean_rate * .clients) | \(.cpu_us_per_event.reader|round) | \(.cpu_us_per_event.publisher|round) | \(.cpu_us_per_event.nats|round) |"' "$RESULTS"
echo
echo "Raw results: $RESULTS" >&2
