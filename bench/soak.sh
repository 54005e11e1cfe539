#!/usr/bin/env bash
# The operations soak: 64 concurrent clients mixing lookups, aggregates and
# large scans for 5 minutes against `quiver serve` with 2 local workers over
# the demo data (scale 1, local disk). Results: bench/out/soak.json and a
# Markdown table on stdout. Usage: bench/soak.sh [clients] [duration]
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:-64}
duration=${2:-5m}
wh=bench/out/soak-warehouse
mkdir -p bench/out
if [ ! -d "$wh/demo" ]; then
  bin/quiver demo-data --warehouse "$wh" --scale 1 --log-level warn
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
bin/quiver serve --listen 127.0.0.1:$port --warehouse "$wh" --local-workers 2 --log-level ${QUIVER_LOG_LEVEL:-warn} \
  --history-flush 1m >bench/out/soak-server.log 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  if bin/quiver query --server 127.0.0.1:$port "SELECT 1" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
echo "$(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(bin/quiver version), clients=$clients duration=$duration"
go run -tags=duckdb_arrow ./bench/soak --addr 127.0.0.1:$port --pid $server --clients "$clients" --duration "$duration" --out bench/out/soak.json
