#!/usr/bin/env bash
# System packages the test suite needs beyond npm: OpenStack Swift (+ s3api), the real
# S3-compatible server the S3 store's tests start on 127.0.0.1. Idempotent; Debian/Ubuntu.
set -uo pipefail
command -v swift-proxy-server >/dev/null && exit 0
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
  echo "install-test-deps: run as root (or install: apt-get install swift swift-proxy swift-account swift-container swift-object); without it the S3 tests fail" >&2
  exit 0
fi
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
if ! command -v apt-get >/dev/null; then
  echo "install-test-deps: no apt-get here; install OpenStack Swift yourself or the S3 tests fail" >&2
  exit 0
fi
echo "== installing Swift (S3 test server)"
started=$SECONDS
# Install only: a policy-rc.d that answers 101 keeps the packages from starting system daemons.
own_policy=
[ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod +x /usr/sbin/policy-rc.d && own_policy=1; }
$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  swift swift-proxy swift-account swift-container swift-object >/dev/null || echo "Swift install failed: the S3 tests will fail" >&2
[ -n "$own_policy" ] && $SUDO rm -f /usr/sbin/policy-rc.d
echo "   took $((SECONDS - started)) s"
exit 0
