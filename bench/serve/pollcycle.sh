#!/usr/bin/env bash
# Memory of `tidings serve` over one steady poll cycle of N local feeds
# (default 10000; 10% changed, the rest answer 304), served by
# bench/poll/feedserver: the peak of the goroutine stacks and of the heap
# (sampled from /metrics every 0.5 s) and the process's peak RSS (VmHWM).
# The store is filled once by `tidings fetch` and reused; each cycle
# starts with a steady `fetch` (every source then falls due one interval
# later, spread by the fetch's duration and the schedule's jitter).
#
# BEFORE=REV also measures tidings built at REV, on the same store, after.
#
#   bench/serve/pollcycle.sh
#   BEFORE=HEAD~1 bench/serve/pollcycle.sh 10000
source "$(dirname "$0")/../lib.sh"

N=${1:-10000}
need curl
build_tidings
say "machine: $(machine)"
W="$OUT/pollcycle-$N"
mkdir -p "$W"
go build -o "$OUT/bin/feedserver" ./bench/poll/feedserver
rm -f "$W/port"
"$OUT/bin/feedserver" -n "$N" -portfile "$W/port" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.05; done
FEEDS="http://127.0.0.1:$(cat "$W/port")"
LISTEN="127.0.0.1:$(free_port 18190)"
{
  cat <<YAML
storage:
  path: $W/tidings.db
  retention: 0
  max_items_per_source: 0
server:
  listen: $LISTEN
  watch_config: false
fetch:
  interval: 20s
  concurrency: 64
  per_host: 64
  timeout: 30s
sources:
YAML
  for i in $(seq 0 $((N - 1))); do printf '  - name: f%d\n    url: %s/f/%d.xml\n' "$i" "$FEEDS" "$i"; done
} >"$W/tidings.yaml"
# Once, the store is filled (every feed new), so that each cycle below
# starts from a steady store as a running daemon's is.
if [ ! -f "$W/.filled" ]; then
  rm -f "$W/tidings.db"
  "$TIDINGS" fetch --config "$W/tidings.yaml" >/dev/null
  touch "$W/.filled"
fi
requests() { curl -fsS "$FEEDS/stats" | sed -E 's/.*"requests":([0-9]+).*/\1/'; }

# cycle BIN LABEL: fetch every feed (so the store knows their ETags), change
# 10% of them, start serve and sample it until every feed has been polled.
cycle() {
  local bin=$1 label=$2 pid t0 stack heap
  "$bin" fetch --config "$W/tidings.yaml" >/dev/null
  curl -fsS "$FEEDS/bump?pct=10" >/dev/null
  curl -fsS "$FEEDS/stats?reset" >/dev/null
  "$bin" serve --config "$W/tidings.yaml" --log-level warn 2>"$W/serve.log" &
  pid=$!
  PIDS+=($pid)
  wait_http "http://$LISTEN/readyz"
  : >"$W/samples"
  t0=$SECONDS
  while [ "$(requests)" -lt "$N" ] && [ $((SECONDS - t0)) -lt 300 ]; do
    curl -fsS "http://$LISTEN/metrics" | awk '/^go_memstats_stack_inuse_bytes/ {print "stack", $2} /^go_memstats_heap_inuse_bytes/ {print "heap", $2}' >>"$W/samples"
    sleep 0.5
  done
  sleep 2
  stack=$(awk '$1 == "stack" && $2 > m {m = $2} END {printf "%.0f", m / 1048576}' "$W/samples")
  heap=$(awk '$1 == "heap" && $2 > m {m = $2} END {printf "%.0f", m / 1048576}' "$W/samples")
  printf '| %-28s | %8s MB | %8s MB | %8s MB | %8s MB |\n' "$label" "$stack" "$heap" \
    "$(awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status")" "$(awk '/^RssAnon:/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status")"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

echo "## tidings serve, one steady poll cycle of $N feeds (10% changed), fetch concurrency 64"
echo "| build                        | peak stacks | peak heap in use | VmHWM | RssAnon at the end |"
echo "|------------------------------|-------------|------------------|-------|--------------------|"
cycle "$TIDINGS" "this checkout"
if [ -n "${BEFORE:-}" ]; then
  before_src "$BEFORE"
  (cd "$BSRC" && go build -trimpath -o "$OUT/bin/tidings-before" ./cmd/tidings)
  cycle "$OUT/bin/tidings-before" "$BREV (before)"
fi
echo "(VmHWM counts the pages of the store file the process has touched, which the kernel can drop; RssAnon it cannot.)"
