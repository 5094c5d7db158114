# Shared helpers for the bench/ scripts; sourced, not run.
#
# Everything a script makes goes under $BENCH_OUT (default bench/out/,
# git-ignored). Servers listen on 127.0.0.1 only and are stopped when the
# script exits, however it exits.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${BENCH_OUT:-$ROOT/bench/out}"
mkdir -p "$OUT/bin"
cd "$ROOT"

PIDS=()
cleanup() {
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT INT TERM

say() { printf '%s\n' "$*" >&2; }

# need CMD PACKAGE: make sure CMD exists, installing PACKAGE with apt-get
# when running as root; otherwise say what is missing and stop.
need() {
  local cmd=$1 pkg=${2:-$1}
  command -v "$cmd" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing $pkg (for $cmd)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
    command -v "$cmd" >/dev/null 2>&1 && return 0
  fi
  say "missing: $cmd — install the Debian package $pkg (sudo apt-get install $pkg) and run again"
  exit 1
}

# nginx lives in /usr/sbin, which is not on every user's PATH.
PATH="$PATH:/usr/sbin"

# build_tidings: the binary under test, from this checkout.
build_tidings() {
  need go golang
  go build -trimpath -o "$OUT/bin/tidings" ./cmd/tidings
  TIDINGS="$OUT/bin/tidings"
}

# before_src REV: the tree of commit REV in $OUT/before-src, to build the
# "before" side of a comparison from; sets BREV to its short name.
before_src() {
  BREV=$(git rev-parse --short "$1")
  BSRC="$OUT/before-src"
  rm -rf "$BSRC" && mkdir -p "$BSRC"
  git archive "$1" | tar -x -C "$BSRC"
}

# gen_workload SOURCES ITEMS PORT: the generated feeds that bench/ingest and
# bench/miniflux share, written once to $DATA (set here), with the config
# pointed at a server on PORT (it may differ from run to run).
gen_workload() {
  DATA="$OUT/ingest-${1}x${2}"
  if [ ! -f "$DATA/.done" ]; then
    rm -rf "$DATA"
    go run ./bench/gen -sources "$1" -items "$2" -out "$DATA" -url "http://127.0.0.1:PORT/feeds/"
    touch "$DATA/.done"
  fi
  sed -i -E "s#http://127\.0\.0\.1:[A-Z0-9]+/feeds/#http://127.0.0.1:$3/feeds/#" "$DATA/tidings.yaml"
}

# free_port N: the first port from N up that nothing listens on.
free_port() {
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

# wait_http URL: until URL answers, at most 60 s.
wait_http() {
  for _ in $(seq 600); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  say "no answer from $1 after 60 s"
  exit 1
}

# start_nginx DOCROOT PORT: nginx with 2 workers (as many cores as the
# machine has for tidings), no access log, serving DOCROOT on 127.0.0.1:PORT.
start_nginx() {
  need nginx nginx-light
  local docroot=$1 port=$2 dir="$OUT/nginx-$2"
  mkdir -p "$dir/logs"
  cat >"$dir/nginx.conf" <<EOF
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  # FILE.gz, where a script made one, for clients that accept gzip.
  gzip_static on;
  keepalive_requests 10000000;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  types {
    application/rss+xml xml rss;
    application/atom+xml atom;
    application/feed+json json;
  }
  server {
    listen 127.0.0.1:$port;
    root $docroot;
  }
}
EOF
  nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' &
  PIDS+=($!)
  NGINX_PID=$!
}

# rss_kb PID: resident set size of a process in KB.
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# machine: one line describing where the figures come from.
machine() {
  local cpu
  cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
  printf '%s, %s cores, %s GB RAM, %s, %s\n' "$cpu" "$(nproc)" \
    "$(awk '/^MemTotal:/ {printf "%.0f", $2/1048576}' /proc/meminfo)" "$(uname -sr)" "$(go version | awk '{print $3}')"
}

# now: seconds since the epoch with nanoseconds.
now() { date +%s.%N; }

# million_store: SOURCES_M × ITEMS_M (default 10,000 × 100 = 1,000,000
# items of ~1 KB) as file:// feeds, fetched once into a store by `tidings
# fetch`; made once under $OUT and reused. Sets MILLION to its folder.
million_store() {
  local sources=${SOURCES_M:-10000} items=${ITEMS_M:-100}
  MILLION="$OUT/million-${sources}x${items}"
  if [ ! -f "$MILLION/.done" ]; then
    rm -rf "$MILLION"
    say "generating $sources feeds × $items items and fetching them into a store (minutes, once)"
    go run ./bench/gen -sources "$sources" -items "$items" -size 700 -out "$MILLION"
    local t0 t1
    t0=$(now)
    "$TIDINGS" fetch --config "$MILLION/tidings.yaml" >"$MILLION/fetch.log"
    t1=$(now)
    printf 'fetched %s items in %.0f s\n' "$((sources * items))" "$(echo "$t1 - $t0" | bc -l)" >"$MILLION/.done"
  fi
  say "store: $MILLION ($(cat "$MILLION/.done"); $(du -h "$MILLION/tidings.db" | cut -f1))"
}
