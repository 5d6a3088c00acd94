#!/usr/bin/env bash
# mcpproxy side by side with its peers (see docs/BENCHMARKS.md): the floor of
# WebSocket fan-out on this machine (floor.c: one thread, epoll, one write per
# client per event) and the same job on Node's `ws` (node-ws-server.js).
#
#   bench/peers.sh [BUILD_DIR]      BUILD_DIR holds mcpproxy and ws-bench (default: build)
#   bench/peers.sh --tables FILE    only print the tables of an earlier run's results.jsonl
#
# The peers are compiled and started from $PEERS (default ../shared/peers
# relative to the repository); nothing of theirs is kept here. Every server is
# driven by the same ws-bench, one after the other on this machine, and the
# tables print the ratios measured in this run:
#
#   steady  1,000 clients, 50 events/s, one event per POST, 10 s: server CPU
#           per delivery, p50/p99, losses. ROUNDS (default 3) rounds, the
#           three servers one after the other in each, fresh each time; the
#           table takes each server's median round (by p99), so a burst of
#           load from elsewhere on the machine hits all three alike
#   burst   100 clients reading at full speed, 20 POSTs of 1,000 events
#           (the floor reads at most 64 KiB per request: 40 POSTs of 500);
#           mcpproxy also with ?batch=1. The clients are ws-bench --raw (a
#           minimal frame reader): lws' client parser, a byte at a time,
#           would be the limit instead of the servers
#   idle    RSS per WebSocket at 10,000 idle connections (fresh server)
#   churn   50,000 connect / hello / close cycles, 50 at a time (fresh
#           server); the floor is left out: it never frees a connection
#   wire    mcpproxy with the typical event mix (deflate_bench.mjs), 100
#           clients at 200 events/s, without and with permessage-deflate:
#           bytes on the wire per event and CPU per delivery
#
# PROFILE=1 also records, for each server, `strace -c -f` and `perf record -g`
# of a shorter steady run into $OUT (slow; the tables do not use them).
# Raw JSON lines stay in $OUT (default: a temp dir, printed at the end).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
tables() { # RESULTS: the markdown tables
  echo "### Side by side: mcpproxy, the floor, Node ws (ratios from this run)"
  echo
  jq -rs '
    def r($a; $b): if ($a|type) == "number" and ($b|type) == "number" and $b != 0 then ($a / $b * 100 | round / 100 | tostring) + "×" else "-" end;
    def steady: .mode == "latency" and .clients == 1000;
  def pick($s; f): (map(select(.server == $s) | select(f)) | sort_by(.p99_us) | .[(length - 1) / 2 | floor]);
  def n: if . == null then "-" elif type == "number" then (. * 100 | round / 100 | tostring) else tostring end;
      def row($what; f; v; $target):
      (pick("mcpproxy"; f) | v) as $m | (pick("floor"; f) | v) as $fl | (pick("node"; f) | v) as $no |
      "| \($what) | \($m|n) | \($fl|n) | \($no|n) | \(r($m; $fl)) | \(r($m; $no)) | \($target) |";
      def burst_plain: .mode == "burst" and (.batch | not);
    def lost: (.expected - .received) + .dropped_events;
    (map(select(.mode == "idle" and .clients == 0)) | map({key: .server, value: .proxy_rss_kb}) | from_entries) as $base |
    "| scenario: measure | mcpproxy | floor | Node ws | mcpproxy / floor | mcpproxy / Node | target |",
    "|---|---:|---:|---:|---:|---:|---|",
    row("steady 1000×50/s: CPU µs per delivery"; steady; .cpu_us_per_delivery; "≤ 1.2× floor"),
    row("steady: p50 ms"; steady; .p50_us / 1000; ""),
    row("steady: p99 ms"; steady; .p99_us / 1000; "≤ 1.2× floor, < Node"),
    row("steady: events lost"; steady; lost; "0"),
    row("steady: server CPU %"; steady; .proxy_cpu_pct; ""),
    row("burst 100 clients, 20,000 events: deliveries/s"; burst_plain; .delivered_per_s; ""),
    row("burst: delivered of 2,000,000"; burst_plain; .received; "all"),
    row("burst: events lost (events_dropped or missing)"; burst_plain; lost; "0"),
    row("burst: CPU µs per delivery"; burst_plain; .cpu_us_per_delivery; ""),
    row("idle: KiB per WebSocket at 10,000"; .mode == "idle" and .clients == 10000; (.proxy_rss_kb - $base[.server]) / .clients; "≤ 2.5 (mcpproxy)"),
    row("churn 50,000 cycles: RSS growth KiB"; .mode == "churn"; .growth_kb; "< 1024"),
    row("churn: growth after the first 5,000, KiB"; .mode == "churn"; .growth_after_tenth_kb; ""),
    "",
    "Steady p99 ms of every round (the table shows each server'"'"'s median round): " +
      ([("mcpproxy", "floor", "node") as $s | "\($s) " + ([.[] | select(.server == $s and steady) | .p99_us / 1000 | tostring] | join(", "))] | join("; ")) + ".",
    "",
    (map(select(.server == "mcpproxy" and .mode == "burst" and .batch)) | .[0]) as $b |
    (map(select(.server == "floor" and .mode == "burst")) | .[0]) as $f |
    "mcpproxy burst with batch=1: \($b.delivered_per_s) deliveries/s, \($b.received) of \($b.expected) delivered, \($b.dropped_events) dropped, \($b.cpu_us_per_delivery) µs CPU per delivery; \(r($b.delivered_per_s; $f.delivered_per_s)) the floor'"'"'s deliveries/s (target ≥ 5×), \(r($f.cpu_us_per_delivery; $b.cpu_us_per_delivery)) less CPU per delivery."
  ' "$1"
  echo
  echo "### permessage-deflate (mcpproxy, typical event mix, 100 clients at 200 events/s)"
  echo
  echo "| clients offer deflate | negotiated | wire bytes per event | CPU µs per delivery | received | expected |"
  echo "|---|---:|---:|---:|---:|---:|"
  jq -r 'select(.mode == "deflate") |
    "| \(if .deflate then "yes" else "no" end) | \(.negotiated) | \(.wire_bytes_per_event) | \(.cpu_us_per_delivery) | \(.received) | \(.expected) |"' "$1"
  echo
}
if [[ ${1:-} == --tables ]]; then
  [[ -f ${2:-} ]] || { echo "peers.sh: --tables needs a results.jsonl" >&2; exit 2; }
  tables "$2"
  exit 0
fi
BUILD=${1:-${MCPPROXY_BUILD_DIR:-$ROOT/build}}
PEERS=${PEERS:-$ROOT/../shared/peers}
PROXY=$BUILD/mcpproxy
BENCH=$BUILD/ws-bench
for bin in "$PROXY" "$BENCH"; do
  [[ -x $bin ]] || { echo "peers.sh: $bin not found (build it first)" >&2; exit 1; }
done
for f in floor.c node-ws-server.js; do
  [[ -f $PEERS/$f ]] || { echo "peers.sh: $PEERS/$f not found (set PEERS to the peers' folder)" >&2; exit 1; }
done
[[ -d $ROOT/node_modules/ws ]] || { echo "peers.sh: run npm ci first (the Node peer needs the ws package)" >&2; exit 1; }
for tool in jq cc node python3; do
  command -v $tool >/dev/null || { echo "peers.sh: $tool is needed" >&2; exit 1; }
done
ulimit -n "$(ulimit -Hn)"
if (( $(ulimit -n) < 10100 )); then
  echo "peers.sh: ulimit -n is $(ulimit -n); 10,000 idle clients need about 10,100 in each process" >&2
  exit 1
fi

OUT=${OUT:-$(mktemp -d /tmp/mcpproxy-peers.XXXXXX)}
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: > "$RESULTS"
cc -O2 -o "$OUT/floor" "$PEERS/floor.c" -lcrypto
cat > "$OUT/config.json" <<'JSON'
{"mcpServers":[],"websocket":{"max_clients":20000,"send_queue":256},
 "limits":{"max_connections":20000,"max_connections_per_address":20000}}
JSON

PID= URL= NAME= PEERFLAG=
stop_server() {
  [[ -n $PID ]] || return 0
  kill "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  PID=
}
trap stop_server EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_port() { # PORT: until something accepts there
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$PID" 2>/dev/null || { echo "peers.sh: $NAME exited at start" >&2; exit 1; }
    sleep 0.1
  done
  echo "peers.sh: $NAME does not listen on $1" >&2; exit 1
}

start_server() { # mcpproxy | floor | node: a fresh process
  stop_server
  NAME=$1
  case $NAME in
    mcpproxy)
      # info: the port is announced by the info line "listening".
      "$PROXY" --config "$OUT/config.json" --listen 127.0.0.1:0 --log-format json --log-level info \
        > "$OUT/proxy.out" 2> "$OUT/proxy.log" &
      PID=$!
      URL=
      for _ in $(seq 100); do
        URL=$(jq -r 'select(.msg=="listening") | .url' "$OUT/proxy.log" 2>/dev/null | head -1)
        [[ -n $URL ]] && break
        kill -0 $PID 2>/dev/null || { cat "$OUT/proxy.log" >&2; exit 1; }
        sleep 0.1
      done
      [[ -n $URL ]] || { echo "peers.sh: mcpproxy did not say listening" >&2; exit 1; }
      PEERFLAG=()
      ;;
    floor|node)
      local port
      port=$(free_port)
      if [[ $NAME == floor ]]; then
        "$OUT/floor" "$port" > "$OUT/floor.log" 2>&1 &
      else
        NODE_PATH=$ROOT/node_modules node "$PEERS/node-ws-server.js" "$port" > "$OUT/node.log" 2>&1 &
      fi
      PID=$!
      URL=http://127.0.0.1:$port
      wait_port "$port"
      PEERFLAG=(--peer) # they send no hello
      ;;
  esac
}

run() { # ws-bench arguments...; its JSON lines go to RESULTS tagged with the server
  echo "+ [$NAME] ws-bench $*" >&2
  "$BENCH" "$@" "${PEERFLAG[@]}" --url "$URL" --pid "$PID" | jq -c --arg s "$NAME" '. + {server: $s}' >> "$RESULTS"
}

for round in $(seq "${ROUNDS:-3}"); do
  for s in mcpproxy floor node; do
    start_server $s
    run latency --clients 1000 --runs 50:1 --seconds 10
  done
done

for s in mcpproxy floor node; do
  start_server $s
  run idle --steps 0,10000
  if [[ $s != floor ]]; then
    start_server $s
    run churn --cycles 50000 --parallel 50
  fi
  start_server $s
  if [[ $s == floor ]]; then
    run burst --clients 100 --posts 40 --bulk 500 --raw
  else
    run burst --clients 100 --posts 20 --bulk 1000 --raw
  fi
  if [[ $s == mcpproxy ]]; then
    run burst --clients 100 --posts 20 --bulk 1000 --batch --raw
    echo "+ [$NAME] deflate_bench.mjs" >&2
    node "$ROOT/bench/deflate_bench.mjs" --url "$URL" --pid "$PID" --clients 100 --events 2000 --rate 200 |
      jq -c '. + {server: "mcpproxy"}' >> "$RESULTS"
  fi
  if [[ ${PROFILE:-0} == 1 ]]; then
    # The same steady load, 4 s of it under strace, then under perf.
    "$BENCH" latency --clients 1000 --runs 50:1 --seconds 8 "${PEERFLAG[@]}" --url "$URL" > /dev/null &
    BPID=$!
    sleep 3
    timeout -s INT 4 strace -c -f -p "$PID" -o "$OUT/strace-$s.txt" || true
    wait $BPID || true
    "$BENCH" latency --clients 1000 --runs 50:1 --seconds 8 "${PEERFLAG[@]}" --url "$URL" > /dev/null &
    BPID=$!
    sleep 3
    perf record -q -g -o "$OUT/perf-$s.data" -p "$PID" -- sleep 4 2>/dev/null || true
    wait $BPID || true
    perf report -i "$OUT/perf-$s.data" --no-children --sort dso,sym -g none --stdio 2>/dev/null |
      grep -v '^#' | grep -v '^$' | head -40 > "$OUT/perf-$s.txt" || true
  fi
done
stop_server

tables "$RESULTS"
echo "Raw results: $RESULTS" >&2
