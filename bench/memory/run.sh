#!/usr/bin/env bash
# Memory of `tidings serve` with 10,000 sources and 1,000,000 items (the
# store million_store in bench/lib.sh builds): resident set size after the
# start-up poll of every source (all unchanged files), then after every
# topic has been requested in every format, with the peak (VmHWM).
#
#   bench/memory/run.sh
source "$(dirname "$0")/../lib.sh"

need curl
need bc
build_tidings
say "machine: $(machine)"
million_store

PORT=$(free_port 18095)
sed -i -E "s#^  listen: .*#  listen: 127.0.0.1:$PORT#" "$MILLION/tidings.yaml"
# Each source's stored next poll is a day away (interval 24h), so a copy of
# the config shortens the interval to a minute: then every source polls once,
# all in the same minute, while we watch (the worst case for memory).
sed -E "s#^  interval: .*#  interval: 1m#" "$MILLION/tidings.yaml" >"$MILLION/memory.yaml"
"$TIDINGS" serve --config "$MILLION/memory.yaml" --log-level warn 2>"$OUT/memory-tidings.log" &
PIDS+=($!)
PID=$!
BASE="http://127.0.0.1:$PORT"
wait_http "$BASE/readyz"
# Wait until every source has polled: memory before the polls would flatter.
N=$(grep -c "^  - {name: s" "$MILLION/tidings.yaml")
polls() { curl -fsS "$BASE/metrics" | awk '/^tidings_polls_total/ {n += $2} END {printf "%d", n}'; }
for _ in $(seq 600); do [ "$(polls)" -ge "$N" ] && break; sleep 1; done
say "polls at start-up: $(polls) of $N sources"
# One read of the status for the figures of one moment: the store lets go
# of its mapped pages now and then, and RSS must be their sum.
snap() { STATUS=$(cat "/proc/$PID/status"); }
rss() { awk -v k="$1:" '$1 == k {printf "%.0f", $2 / 1024}' <<<"$STATUS"; }
snap
idle=$(rss VmRSS)
idle_anon=$(rss RssAnon)
idle_file=$(rss RssFile)
idle_shmem=$(rss RssShmem)
# A request that fails (the daemon's 60 s write timeout cuts off a render
# that takes longer) is counted, not fatal: memory is what is measured.
t0=$(now)
failed=0
for path in /topics/{all,mexico,trade,americas,phrase,one}.{rss,atom,json} /; do
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 900 "$BASE$path" 2>/dev/null || true)
  [ "$code" = 200 ] || { failed=$((failed + 1)); say "$path: ${code:-no answer} (000: the connection was cut off)"; }
done
t1=$(now)
snap
served=$(rss VmRSS)
peak=$(rss VmHWM)
anon=$(rss RssAnon)
file=$(rss RssFile)
shmem=$(rss RssShmem)

echo "## Memory of tidings serve, $(grep -c "^  - {name: s" "$MILLION/tidings.yaml") sources, $(awk '{print $2}' "$MILLION/.done") items"
echo "| when | RSS | target RSS < 200 MB |"
echo "|---|---|---|"
echo "| after start-up and the first poll of every source | $idle MB (anonymous $idle_anon MB, file $idle_file MB, shared memory $idle_shmem MB) | $([ "$idle" -lt 200 ] && echo met || echo NOT met) |"
printf '| after every topic in every format and the index (19 requests, %s failed, %.1f s) | %s MB (anonymous %s MB, file %s MB, shared memory %s MB) | %s |\n' \
  "$failed" "$(echo "$t1 - $t0" | bc -l)" "$served" "$anon" "$file" "$shmem" "$([ "$served" -lt 200 ] && echo met || echo NOT met)"
echo "| peak (VmHWM) | $peak MB | $([ "$peak" -lt 200 ] && echo met || echo NOT met) |"
echo "(RSS counts the pages of the store file the process has mapped, which it releases past 64 MB, and the in-memory copies of large feeds that sendfile serves (shared memory); the kernel can drop the store's pages under pressure, anonymous memory it cannot.)"
