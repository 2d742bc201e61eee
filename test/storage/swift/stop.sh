#!/usr/bin/env bash
# Stop the servers start.sh started in RUN_DIR, by the PIDs it recorded (never by name).
set -uo pipefail
run="${1:?usage: stop.sh RUN_DIR}"
for f in "$run"/*.pid; do
  [ -e "$f" ] || continue
  pid="$(cat "$f")"
  kill "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null
  rm -f "$f"
done
exit 0
