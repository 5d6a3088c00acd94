#!/usr/bin/env bash
# Benchmarks of mcpproxy's real-time core (see docs/BENCHMARKS.md).
#
#   bench/run.sh [BUILD_DIR]        BUILD_DIR holds mcpproxy and ws-bench (default: build)
#
# Starts a fresh mcpproxy on a free loopback port, runs every scenario with
# ws-bench, prints markdown tables, and keeps the raw JSON lines in
# $OUT (default: a temp dir, printed at the end). Takes about 2-3 minutes.
# The proxy and the load generator share this machine's cores.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-${MCPPROXY_BUILD_DIR:-$ROOT/build}}
PROXY=$BUILD/mcpproxy
BENCH=$BUILD/ws-bench
for bin in "$PROXY" "$BENCH"; do
  [[ -x $bin ]] || { echo "run.sh: $bin not found (build it first)" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "run.sh: jq is needed" >&2; exit 1; }

# 5000 clients need 5000 descriptors in each process.
ulimit -n "$(ulimit -Hn)"
if (( $(ulimit -n) < 12000 )); then
  echo "run.sh: ulimit -n is $(ulimit -n); 5000 clients need about 12000" >&2
  exit 1
fi

OUT=${OUT:-$(mktemp -d /tmp/mcpproxy-bench.XXXXXX)}
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: > "$RESULTS"
cat > "$OUT/config.json" <<'JSON'
{"mcpServers":[],"websocket":{"max_clients":20000,"send_queue":256},
 "limits":{"max_connections":20000,"max_connections_per_address":20000}}
JSON

# info, not warn: the port is announced by the info line "listening". The
# per-connection info lines cost nothing while events flow.
"$PROXY" --config "$OUT/config.json" --listen 127.0.0.1:0 --log-format json --log-level info \
  > "$OUT/proxy.out" 2> "$OUT/proxy.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT
URL=
for _ in $(seq 100); do
  URL=$(jq -r 'select(.msg=="listening") | .url' "$OUT/proxy.log" 2>/dev/null | head -1)
  [[ -n $URL ]] && break
  kill -0 $PID 2>/dev/null || { cat "$OUT/proxy.log" >&2; exit 1; }
  sleep 0.1
done
[[ -n $URL ]] || { echo "run.sh: mcpproxy did not say listening" >&2; exit 1; }

run() { # ws-bench arguments...; appends its JSON lines to RESULTS
  echo "+ ws-bench $*" >&2
  "$BENCH" "$@" --url "$URL" --pid "$PID" | tee -a "$RESULTS" >/dev/null
}

# 3: idle cost, first, while the heap has not yet grown for queued events
# (freed memory is reused, so later runs would hide the per-client cost).
run idle --steps 0,1000,5000

# 1 and 4: fan-out latency, plain and ?batch=1. Each client count gets a rate
# the 2 cores can carry (deliveries = clients x rate), once as one event per
# POST and once as bulk arrays of rate/10 events (10 POSTs/s).
for batch in "" "--batch"; do
  run latency --clients 1    --runs 1000:1,1000:100 --seconds 3 $batch
  run latency --clients 100  --runs 1000:1,1000:100 --seconds 3 $batch
  run latency --clients 1000 --runs 100:1,100:10    --seconds 3 $batch
  run latency --clients 5000 --runs 10:1,10:10      --seconds 3 $batch
done

# Slow client: 20 clients at 1000 events/s of ~1.2 KB, without and with one
# more client that stops reading for the whole run, then reads again.
run latency --clients 20 --slow 0 --runs 1000:1 --seconds 5 --pad 1024
run latency --clients 20 --slow 1 --runs 1000:1 --seconds 5 --pad 1024

# 2: throughput ramp with 100 clients, bulk POSTs of 100 events, x1.5 per step
# until a step is not clean (a drop, a missing event, the rate not taken, or
# p99 over 100 ms: a backlog building up).
run ramp --clients 100 --bulk 100 --rate 5000 --factor 1.25 --seconds 2
run ramp --clients 100 --bulk 100 --rate 5000 --factor 1.25 --seconds 2 --batch

STATS=$(curl -s "$URL/api/realtime/stats" || true)

# ---- tables ---------------------------------------------------------------
ms() { echo 'def ms: if . >= 1000000 then "≥1000" else (. / 1000 * 100 | round / 100 | tostring) end;'; }

echo "### Fan-out latency (scenarios 1 and 4)"
echo
echo "| clients | ws | rate ev/s | events/POST | published ev/s | delivered ev/s | WS messages | p50 ms | p99 ms | max ms | drops | proxy CPU % | bench CPU % |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
jq -r "$(ms)"' select(.mode=="latency" and .slow==0 and .clients!=20) |
  "| \(.clients) | \(if .batch then "batch=1" else "plain" end) | \(.rate) | \(.bulk) | \(.publish_rate) | \(.delivered_per_s) | \(.messages) | \(.p50_us|ms) | \(.p99_us|ms) | \(.max_us|ms) | \(.dropped_events) | \(.proxy_cpu_pct) | \(.bench_cpu_pct) |"' "$RESULTS"
echo
echo "### Slow client"
echo
echo "| clients | slow | p50 ms | p99 ms | max ms | others dropped | slow: received | slow: events_dropped notices | slow: events dropped |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
jq -r "$(ms)"' select(.mode=="latency" and .clients==20) |
  "| \(.clients) | \(.slow) | \(.p50_us|ms) | \(.p99_us|ms) | \(.max_us|ms) | \(.dropped_events) | \(.slow_received // "-") | \(.slow_dropped_notices // "-") | \(.slow_dropped_events // "-") |"' "$RESULTS"
echo
echo "### Throughput ramp (scenario 2; 100 clients, 100 events per POST)"
echo
echo "| ws | offered ev/s | published ev/s | delivered ev/s | WS messages/s | drops | p50 ms | p99 ms | proxy CPU % | bench CPU % | clean |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
jq -r "$(ms)"' select(.mode=="ramp") |
  "| \(if .batch then "batch=1" else "plain" end) | \(.rate | round) | \(.publish_rate) | \(.delivered_per_s) | \(.messages / .seconds | round) | \(.dropped_events) | \(.p50_us|ms) | \(.p99_us|ms) | \(.proxy_cpu_pct) | \(.bench_cpu_pct) | \(.clean) |"' "$RESULTS"
jq -r 'select(.mode=="ramp_result") | "\nHighest clean rate, \(if .batch then "batch=1" else "plain" end): \(.max_clean_rate) events/s (first unclean: \(.first_unclean_rate))"' "$RESULTS"
echo
echo "### Idle cost (scenario 3)"
echo
echo "| idle clients | proxy VmRSS KiB | KiB per client over 0 |"
echo "|---:|---:|---:|"
jq -rs 'map(select(.mode=="idle")) | (.[0].proxy_rss_kb) as $base | .[] |
  "| \(.clients) | \(.proxy_rss_kb) | \(if .clients > 0 then ((.proxy_rss_kb - $base) / .clients * 100 | round / 100) else "-" end) |"' "$RESULTS"
echo
echo "Proxy counters at the end: \`$STATS\`"
echo
echo "Raw results: $RESULTS" >&2
