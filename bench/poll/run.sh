#!/usr/bin/env bash
# bench/poll/run.sh [N]: serve N generated feeds (default 5000) from a local
# server on 127.0.0.1, then time
#   1. a cold `tidings fetch` (every feed new: 200s, N×20 items stored),
#   2. a steady `tidings fetch` (10% of feeds changed, the rest answer 304),
#   3. one steady poll cycle of `tidings serve` (10% changed again),
# and print feeds/s, CPU seconds per 1,000 polls and peak RSS of each.
# Figures are for the machine it runs on; compare runs on the same machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-5000}
INTERVAL=${INTERVAL:-20s}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/tidings" ./cmd/tidings
go build -o "$work/feedserver" ./bench/poll/feedserver
"$work/feedserver" -n "$N" -portfile "$work/port" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
feeds="http://127.0.0.1:$(cat "$work/port")"
listen="127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

{
  cat <<YAML
storage:
  path: $work/bench.db
  retention: 0
  max_items_per_source: 0
server:
  listen: $listen
  watch_config: false
fetch:
  interval: $INTERVAL
  concurrency: 64
  per_host: 64          # one local server stands for N publishers
  timeout: 30s
sources:
YAML
  for i in $(seq 0 $((N - 1))); do
    printf '  - name: f%d\n    url: %s/f/%d.xml\n' "$i" "$feeds" "$i"
  done
} >"$work/bench.yaml"

stat() { curl -fsS "$feeds/stats$1"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# fetch_run LABEL: one `tidings fetch` under /usr/bin/time.
fetch_run() {
  stat '?reset' >/dev/null
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$work/tidings" fetch --config "$work/bench.yaml" >"$work/fetch.out"
  read -r wall user sys rss <"$work/time"
  local s notmod
  s=$(stat '')
  notmod=$(echo "$s" | field not_modified)
  python3 - "$1" "$N" "$wall" "$user" "$sys" "$rss" "$notmod" <<'PY'
import sys
label, n, wall, user, sys_, rss, nm = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:7]), int(sys.argv[7])
cpu = user + sys_
print(f"{label:<28} {n} polls ({nm} × 304) in {wall:.2f} s wall: {n/wall:,.0f} feeds/s, "
      f"{cpu/n*1000:.2f} CPU s per 1,000 polls, peak RSS {rss/1024:.0f} MB")
PY
}

echo "bench/poll: $N feeds, $(nproc) cores, $(go version | cut -d' ' -f3)"
fetch_run "fetch, cold (all new)"
curl -fsS "$feeds/bump?pct=10" >/dev/null
fetch_run "fetch, steady (10% changed)"

# serve: the sources' next polls lie one interval (±10%) after the fetch
# above; measure the cycle's CPU from /proc and the peak RSS over the run.
curl -fsS "$feeds/bump?pct=10" >/dev/null
stat '?reset' >/dev/null
/usr/bin/time -f '%e %U %S %M' -o "$work/serve.time" "$work/tidings" serve --config "$work/bench.yaml" --log-level warn 2>"$work/serve.log" &
timepid=$!
pids+=($timepid)
for _ in $(seq 200); do curl -fsS "http://$listen/readyz" >/dev/null 2>&1 && break; sleep 0.05; done
servepid=$(pgrep -P "$timepid")
ticks() { awk '{print $14 + $15}' "/proc/$servepid/stat"; }
hz=$(getconf CLK_TCK)
before=$(ticks)
deadline=$((SECONDS + 120))
while [ "$(stat '' | field requests)" -lt "$N" ]; do
  [ $SECONDS -lt $deadline ] || { echo "serve did not poll every feed within 120 s" >&2; cat "$work/serve.log" >&2; exit 1; }
  sleep 0.5
done
sleep 1 # let the last polls' writes finish
after=$(ticks)
mem=$(awk '/^(RssAnon|RssFile):/ {printf "%s %d MB  ", $1, $2/1024}' "/proc/$servepid/status")
s=$(stat '')
kill -TERM "$servepid"
wait "$timepid" || true
read -r _ _ _ rss <"$work/serve.time"
python3 - "$N" "$before" "$after" "$hz" "$rss" "$(echo "$s" | field not_modified)" "$(echo "$s" | field span_s)" <<'PY'
import sys
n, before, after, hz, rss, nm, span = int(sys.argv[1]), *map(float, sys.argv[2:6]), int(sys.argv[6]), float(sys.argv[7])
cpu = (after - before) / hz
print(f"{'serve, one steady cycle':<28} {n} polls ({nm} × 304) spread over {span:.1f} s by the schedule's jitter, "
      f"{cpu/n*1000:.2f} CPU s per 1,000 polls, peak RSS {rss/1024:.0f} MB")
PY
echo "serve memory at the end of the cycle: $mem(RssFile is the mmapped store, reclaimable)"
