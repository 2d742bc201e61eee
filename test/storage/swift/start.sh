#!/usr/bin/env bash
# Start a throwaway one-replica OpenStack Swift (with the s3api middleware) on 127.0.0.1 for the
# S3 storage tests. Everything lives in RUN_DIR: configs, rings, object data, logs, PIDs.
#   usage: start.sh RUN_DIR     prints S3_ENDPOINT=http://127.0.0.1:PORT when the proxy answers
# Needs Debian's packages: swift swift-proxy swift-account swift-container swift-object.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
run="${1:?usage: start.sh RUN_DIR}"
mkdir -p "$run"
run="$(cd "$run" && pwd)"
py=/usr/bin/python3 # Debian's python, the one swift is installed into (not a pyenv shim)

for bin in swift-account-server swift-container-server swift-object-server swift-proxy-server; do
  command -v "$bin" >/dev/null || {
    echo "start.sh: $bin not found; install: apt-get install swift swift-proxy swift-account swift-container swift-object" >&2
    exit 2
  }
done

free_ports() { # five ports the kernel says are free right now
  "$py" -c 'import socket
socks = [socket.socket() for _ in range(5)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))'
}

http_ok() { # 200 from http://127.0.0.1:$1/healthcheck (bash's /dev/tcp: no curl needed, nothing to start)
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET /healthcheck HTTP/1.0\r\n\r\n' >&3 &&
      read -r -t 2 status <&3 && [[ $status == *" 200 "* ]]
  ) 2>/dev/null
}

stop_all() { "$here/stop.sh" "$run" >/dev/null 2>&1 || true; }

attempt() {
  local account container object proxy memcache
  read -r account container object proxy memcache <<<"$(free_ports)"
  rm -rf "$run"/*.ring.gz "$run"/*.conf
  mkdir -p "$run/srv/d1"
  cp "$here/swift.conf" "$run/swift.conf"
  for s in account container object proxy; do
    sed -e "s|@RUN_DIR@|$run|g" -e "s|@PORT@|${!s}|g" -e "s|@MEMCACHE_PORT@|$memcache|g" "$here/$s-server.conf.in" >"$run/$s-server.conf"
  done
  # 2^4 partitions, 1 replica, 1 device: the smallest ring Swift accepts. Built with the library
  # behind swift-ring-builder in one process (the CLI costs ~0.6 s of start-up per call, 9 calls).
  "$py" - "$run" "$account" "$container" "$object" <<'PY'
import sys
from swift.common.ring import RingBuilder
run, ports = sys.argv[1], dict(zip(("account", "container", "object"), map(int, sys.argv[2:5])))
for name, port in ports.items():
    builder = RingBuilder(4, 1, 1)
    builder.add_dev({"region": 1, "zone": 1, "ip": "127.0.0.1", "port": port, "device": "d1", "weight": 100,
                     "replication_ip": "127.0.0.1", "replication_port": port, "meta": ""})
    builder.rebalance()
    builder.get_ring().save("%s/%s.ring.gz" % (run, name))
PY
  for s in account container object proxy; do
    # stdin/stdout closed to the caller, so whoever runs this script is not kept waiting.
    "swift-$s-server" "$run/$s-server.conf" --verbose </dev/null >"$run/$s.log" 2>&1 &
    echo $! >"$run/$s.pid"
  done
  echo "start.sh: rings built, servers starting after ${SECONDS} s" >&2
  local deadline=$((SECONDS + 90))
  for s in account container object proxy; do
    until http_ok "${!s}"; do
      if ! kill -0 "$(cat "$run/$s.pid")" 2>/dev/null; then
        echo "start.sh: swift-$s-server exited:" >&2; tail -5 "$run/$s.log" >&2; return 1
      fi
      if ((SECONDS > deadline)); then echo "start.sh: swift-$s-server not answering after 90 s" >&2; return 1; fi
      sleep 0.05
    done
  done
  echo "start.sh: Swift answering after ${SECONDS} s" >&2
  echo "S3_ENDPOINT=http://127.0.0.1:$proxy"
}

# A port picked as free can be taken by someone else before Swift binds it: then try anew.
for try in 1 2 3; do
  if attempt; then exit 0; fi
  stop_all
done
echo "start.sh: Swift did not start; logs in $run" >&2
exit 1
