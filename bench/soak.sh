#!/usr/bin/env bash
# The operations soak: 64 concurrent clients mixing lookups, aggregates and
# large scans for 5 minutes against `quiver serve` with 2 local workers over
# the demo data (scale 1, local disk). Results: bench/out/soak.json and a
# Markdown table on stdout. Usage: bench/soak.sh [clients] [duration] [demo data scale]
# QUIVER_BIN picks the binary (default bin/quiver), QUIVER_BENCH_OUT the
# directory for the warehouse, log and results (default bench/out).
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:-64}
duration=${2:-5m}
scale=${3:-1}
quiver=${QUIVER_BIN:-bin/quiver}
out=${QUIVER_BENCH_OUT:-bench/out}
wh=$out/soak-warehouse
[ "$scale" = 1 ] || wh=$wh-$scale
mkdir -p "$out"
if [ ! -d "$wh/demo" ]; then
  "$quiver" demo-data --warehouse "$wh" --scale "$scale" --log-level warn
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$quiver" serve --listen 127.0.0.1:$port --warehouse "$wh" --local-workers 2 --log-level ${QUIVER_LOG_LEVEL:-warn} \
  --history-flush 1m >"$out/soak-server.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  if "$quiver" query --server 127.0.0.1:$port "SELECT 1" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
echo "$(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $("$quiver" version), clients=$clients duration=$duration demo-data scale=$scale"
go run -tags=duckdb_arrow ./bench/soak --addr 127.0.0.1:$port --pid $server --clients "$clients" --duration "$duration" --out "$out/soak.json"
