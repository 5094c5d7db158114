#!/usr/bin/env bash
# Serving figures with wrk on loopback, each beside nginx serving the same
# bytes as a static file in the same run:
#
#  - a cached 50-item topic feed (200 OK with the body);
#  - a 304 Not Modified for a matching If-None-Match.
#
# Rounds alternate tidings and nginx, so both see the same machine load; the
# table gives the median of ROUNDS (default 3) runs of DURATION (default
# 10s) each, with CONNS (default 64) connections on 2 wrk threads.
#
#   bench/serve/run.sh
source "$(dirname "$0")/../lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
need curl
need wrk
need nginx nginx-light
build_tidings
say "machine: $(machine)"

DATA="$OUT/serve"
TPORT=$(free_port 18090)
NPORT=$(free_port $((TPORT + 1)))
if [ ! -f "$DATA/.done" ]; then
  rm -rf "$DATA"
  go run ./bench/gen -sources 200 -items 50 -out "$DATA"
  "$TIDINGS" fetch --config "$DATA/tidings.yaml" >/dev/null
  touch "$DATA/.done"
fi
sed -i -E "s#^  listen: .*#  listen: 127.0.0.1:$TPORT#" "$DATA/tidings.yaml"

"$TIDINGS" serve --config "$DATA/tidings.yaml" --log-level warn 2>"$OUT/serve-tidings.log" &
PIDS+=($!)
TPID=$!
T="http://127.0.0.1:$TPORT/topics/all.rss"
wait_http "$T"

# The same bytes as a static file for nginx.
mkdir -p "$DATA/www"
curl -fsS "$T" -o "$DATA/www/all.rss"
start_nginx "$DATA/www" "$NPORT"
N="http://127.0.0.1:$NPORT/all.rss"
wait_http "$N"
cmp <(curl -fsS "$T") <(curl -fsS "$N") || { say "tidings and nginx serve different bytes"; exit 1; }
etag() { curl -fsSI "$1" | awk 'tolower($1) == "etag:" {sub(/\r$/, "", $2); print $2}'; }
TETAG=$(etag "$T")
NETAG=$(etag "$N")
code() { curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $2" "$1"; }
[ "$(code "$T" "$TETAG")" = 304 ] && [ "$(code "$N" "$NETAG")" = 304 ] || { say "no 304 for a matching If-None-Match"; exit 1; }

# rps URL [HEADER]: requests/s of one wrk run; fails on socket errors or
# responses of the wrong status.
rps() {
  local out
  if [ -n "${2:-}" ]; then
    out=$(wrk -t2 -c"$CONNS" -d"$DURATION" -H "$2" "$1")
  else
    out=$(wrk -t2 -c"$CONNS" -d"$DURATION" "$1")
  fi
  if grep -q 'Socket errors\|Non-2xx' <<<"$out" && [ -z "${2:-}" ]; then
    say "$out"
    exit 1
  fi
  awk '/^Requests\/sec:/ {print $2}' <<<"$out"
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

declare -A R
for _ in $(seq "$ROUNDS"); do
  R[t200]+="$(rps "$T") "
  R[n200]+="$(rps "$N") "
  R[t304]+="$(rps "$T" "If-None-Match: $TETAG") "
  R[n304]+="$(rps "$N" "If-None-Match: $NETAG") "
done
m() { tr ' ' '\n' <<<"${R[$1]}" | grep . | median; }
t200=$(m t200) n200=$(m n200) t304=$(m t304) n304=$(m n304)
rss=$(rss_kb "$TPID")

echo "## Serving a cached topic feed on loopback: wrk -t2 -c$CONNS -d$DURATION, median of $ROUNDS rounds"
echo "feed: /topics/all.rss, $(wc -c <"$DATA/www/all.rss") bytes, $(grep -c '<item>' "$DATA/www/all.rss") items; tidings RSS after the runs: $((rss / 1024)) MB"
printf '| %-40s | %12s | %12s | %8s | %s |\n' "what" "tidings" "nginx" "ratio" "target"
printf '|%s|%s|%s|%s|%s|\n' "------------------------------------------" "--------------" "--------------" "----------" "--------"
row() {
  local ratio
  ratio=$(echo "$2 / $3" | bc -l)
  printf '| %-40s | %10.0f/s | %10.0f/s | %7.0f%% | %s |\n' "$1" "$2" "$3" "$(echo "$ratio * 100" | bc -l)" \
    "$(echo "$ratio >= $4" | bc -l | sed "s/^1$/met (≥ $5)/; s/^0$/NOT met (≥ $5)/")"
}
row "200, cached 50-item feed" "$t200" "$n200" 0.5 "50%"
row "304 for a matching If-None-Match" "$t304" "$n304" 0.7 "70%"
