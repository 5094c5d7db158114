#!/usr/bin/env bash
# Serving figures with wrk on loopback, each beside nginx serving the same
# bytes as a static file in the same run:
#
#  - a cached 50-item topic feed (200 OK with the body), TOPIC (default trade);
#  - a 304 Not Modified for a matching If-None-Match.
#
# Rounds alternate tidings and nginx, so both see the same machine load; the
# table gives the median of ROUNDS (default 3) runs of DURATION (default
# 10s) each, with CONNS (default 64) connections on 2 wrk threads.
#
# BEFORE=REV (a commit) also builds tidings at REV and measures it in the
# same rounds, on a copy of the same store, for before/after figures.
#
#   bench/serve/run.sh
#   BEFORE=HEAD~1 bench/serve/run.sh
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
# trade: a topic of 50 items (140 KB); all lists fewer today, see the README.
T="http://127.0.0.1:$TPORT/topics/${TOPIC:-trade}.rss"
wait_http "$T"

B=""
if [ -n "${BEFORE:-}" ]; then
  before_src "$BEFORE"
  (cd "$BSRC" && go build -trimpath -o "$OUT/bin/tidings-before" ./cmd/tidings)
  rm -rf "$DATA-before" && mkdir -p "$DATA-before"
  cp "$DATA/tidings.db" "$DATA/tidings.yaml" "$DATA-before/"
  ln -s "$DATA/feeds" "$DATA-before/feeds"
  BPORT=$(free_port $((TPORT + 2)))
  # The same base URL as the tidings under test, for the same bytes.
  sed -i -E "s#^  listen: .*#  listen: 127.0.0.1:$BPORT\n  base_url: http://127.0.0.1:$TPORT#" "$DATA-before/tidings.yaml"
  "$OUT/bin/tidings-before" serve --config "$DATA-before/tidings.yaml" --log-level warn 2>"$OUT/serve-before.log" &
  PIDS+=($!)
  BPID=$!
  B="http://127.0.0.1:$BPORT/topics/${TOPIC:-trade}.rss"
  wait_http "$B"
  cmp <(curl -fsS "$T") <(curl -fsS "$B") || { say "tidings and tidings at $BEFORE serve different bytes"; exit 1; }
fi

# The same bytes as a static file for nginx.
mkdir -p "$DATA/www"
curl -fsS "$T" -o "$DATA/www/feed.rss"
# And gzipped, for nginx's gzip_static: tidings keeps a gzipped copy of
# each document for clients that accept it, so nginx gets one too.
gzip -9 -n -c "$DATA/www/feed.rss" >"$DATA/www/feed.rss.gz"
start_nginx "$DATA/www" "$NPORT"
N="http://127.0.0.1:$NPORT/feed.rss"
wait_http "$N"
cmp <(curl -fsS "$T") <(curl -fsS "$N") || { say "tidings and nginx serve different bytes"; exit 1; }
GZ="Accept-Encoding: gzip"
cmp <(curl -fsS -H "$GZ" "$T" | gzip -dc) <(curl -fsS -H "$GZ" "$N" | gzip -dc) || { say "tidings and nginx serve different gzipped bytes"; exit 1; }
gzsize() { curl -fsS -H "$GZ" "$1" | wc -c; }
etag() { curl -fsSI "$1" | awk 'tolower($1) == "etag:" {sub(/\r$/, "", $2); print $2}'; }
TETAG=$(etag "$T")
NETAG=$(etag "$N")
code() { curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $2" "$1"; }
[ "$(code "$T" "$TETAG")" = 304 ] && [ "$(code "$N" "$NETAG")" = 304 ] || { say "no 304 for a matching If-None-Match"; exit 1; }

# cpu_ticks PID...: user + system CPU time of the processes, in clock ticks.
cpu_ticks() {
  local t=0 pid
  for pid in "$@"; do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$t"
}
HZ=$(getconf CLK_TCK)

# run KEY "PIDS" URL [HEADER]: one wrk run; appends its requests/s to
# R[KEY] and the requests per CPU-second of the server's processes PIDS to
# C[KEY] (which, unlike requests/s, does not depend on how much of the
# machine the server got). Fails on socket errors or responses of the
# wrong status.
run() {
  local key=$1 pids=$2 url=$3 out c0 c1
  c0=$(cpu_ticks $pids)
  if [ -n "${4:-}" ]; then
    out=$(wrk -t2 -c"$CONNS" -d"$DURATION" -H "$4" "$url")
  else
    out=$(wrk -t2 -c"$CONNS" -d"$DURATION" "$url")
  fi
  c1=$(cpu_ticks $pids)
  # wrk counts a response slower than 2 s as a timeout; on a loaded
  # machine that happens to nginx too and says nothing of correctness.
  if grep -Eq 'Socket errors: connect [1-9]|read [1-9]|write [1-9]|Non-2xx' <<<"$out" && [ -z "${4:-}" ]; then
    say "$out"
    exit 1
  fi
  R[$key]+="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out") "
  C[$key]+="$(awk -v hz="$HZ" -v t=$((c1 - c0)) '/ requests in / {print $1 * hz / (t > 0 ? t : 1)}' <<<"$out") "
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

declare -A R C
LOADS=""
NPIDS=$(pgrep -P "$NGINX_PID" | tr '\n' ' ')
for _ in $(seq "$ROUNDS"); do
  run t200 "$TPID" "$T"
  run n200 "$NPIDS" "$N"
  run t304 "$TPID" "$T" "If-None-Match: $TETAG"
  run n304 "$NPIDS" "$N" "If-None-Match: $NETAG"
  run tgz "$TPID" "$T" "$GZ"
  run ngz "$NPIDS" "$N" "$GZ"
  if [ -n "$B" ]; then
    run b200 "$BPID" "$B"
    run b304 "$BPID" "$B" "If-None-Match: $TETAG"
    run bgz "$BPID" "$B" "$GZ"
  fi
  LOADS+="$(cut -d' ' -f1 /proc/loadavg) "
done
m() { tr ' ' '\n' <<<"${R[$1]}" | grep . | median; }
mc() { tr ' ' '\n' <<<"${C[$1]}" | grep . | median; }
t200=$(m t200) n200=$(m n200) t304=$(m t304) n304=$(m n304)
rss=$(rss_kb "$TPID")

echo "## Serving a cached topic feed on loopback: wrk -t2 -c$CONNS -d$DURATION, median of $ROUNDS rounds"
echo "load average (1 min) after each round: $LOADS"
echo "feed: /topics/${TOPIC:-trade}.rss, $(wc -c <"$DATA/www/feed.rss") bytes, $(grep -c '<item>' "$DATA/www/feed.rss") items; tidings RSS after the runs: $((rss / 1024)) MB"
printf '| %-40s | %12s | %12s | %8s | %s |\n' "what" "tidings" "nginx" "ratio" "target"
printf '|%s|%s|%s|%s|%s|\n' "------------------------------------------" "--------------" "--------------" "----------" "--------"
row() {
  local ratio
  ratio=$(echo "$2 / $3" | bc -l)
  local verdict="no target"
  [ "$5" = none ] || verdict=$(echo "$ratio >= $4" | bc -l | sed "s/^1$/met (≥ $5)/; s/^0$/NOT met (≥ $5)/")
  printf '| %-40s | %10.0f/s | %10.0f/s | %7.0f%% | %s |\n' "$1" "$2" "$3" "$(echo "$ratio * 100" | bc -l)" "$verdict"
}
row "200, cached 50-item feed" "$t200" "$n200" 0.5 "50%"
row "304 for a matching If-None-Match" "$t304" "$n304" 0.7 "70%"
row "200, Accept-Encoding: gzip" "$(m tgz)" "$(m ngz)" 0 "none"
if [ -n "$B" ]; then
  row "200, tidings at $BREV (before)" "$(m b200)" "$n200" 0.5 "50%"
  row "304, tidings at $BREV (before)" "$(m b304)" "$n304" 0.7 "70%"
  row "200 gzip, tidings at $BREV (before)" "$(m bgz)" "$(m ngz)" 0 "none"
fi
echo "gzipped body: tidings $(gzsize "$T") bytes, nginx $(gzsize "$N") bytes (gzip_static, gzip -9)"

echo
echo "Requests per CPU-second of the server (tidings: its process; nginx: its 2 workers), median:"
printf '| %-40s | %12s | %12s | %8s |\n' "what" "tidings" "nginx" "ratio"
printf '|%s|%s|%s|%s|\n' "------------------------------------------" "--------------" "--------------" "----------"
crow() { printf '| %-40s | %12.0f | %12.0f | %7.0f%% |\n' "$1" "$2" "$3" "$(echo "$2 * 100 / $3" | bc -l)"; }
crow "200, cached 50-item feed" "$(mc t200)" "$(mc n200)"
crow "304 for a matching If-None-Match" "$(mc t304)" "$(mc n304)"
crow "200, Accept-Encoding: gzip" "$(mc tgz)" "$(mc ngz)"
if [ -n "$B" ]; then
  crow "200, tidings at $BREV (before)" "$(mc b200)" "$(mc n200)"
  crow "304, tidings at $BREV (before)" "$(mc b304)" "$(mc n304)"
  crow "200 gzip, tidings at $BREV (before)" "$(mc bgz)" "$(mc ngz)"
fi
