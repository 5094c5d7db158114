#!/bin/sh
# Kill -9 soak: many rounds of `tidings serve` killed at random moments of
# heavy ingest, checking the store after each (TestKillDuringIngest).
# Usage: bench/crash.sh [ROUNDS]   (default 60, about three minutes)
set -eu
cd "$(dirname "$0")/.."
exec go test ./cmd/tidings -run '^TestKillDuringIngest$' -count=1 -v -timeout 60m -crash.rounds="${1:-60}"
