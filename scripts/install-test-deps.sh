#!/usr/bin/env bash
# System packages the test suite needs beyond npm, each installed only when missing (idempotent;
# Debian/Ubuntu):
# - OpenStack Swift (+ s3api): the real S3-compatible server the S3 store's tests start on 127.0.0.1;
# - Chromium: the real browser the dashboard test drives (playwright-core, never a downloaded build);
# - PostgreSQL 15: the real database the PostgreSQL tests start on 127.0.0.1 (initdb, pg_ctl);
# - jpegtran (libjpeg-turbo-progs): the baseline copies of progressive JPEG originals (also in the Dockerfile).
set -uo pipefail
need_swift=; command -v swift-proxy-server >/dev/null || need_swift=1
need_chromium=; [ -x /usr/bin/chromium ] || need_chromium=1
need_postgres=; [ -x "${PG_BIN:-/usr/lib/postgresql/15/bin}/initdb" ] || need_postgres=1
need_jpegtran=; command -v jpegtran >/dev/null || need_jpegtran=1
[ -z "$need_swift$need_chromium$need_postgres$need_jpegtran" ] && exit 0
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
  [ -n "$need_swift" ] && echo "install-test-deps: run as root (or install: apt-get install swift swift-proxy swift-account swift-container swift-object); without it the S3 tests fail" >&2
  [ -n "$need_chromium" ] && echo "install-test-deps: run as root (or install: apt-get install chromium); without it the dashboard browser test fails" >&2
  [ -n "$need_postgres" ] && echo "install-test-deps: run as root (or install: apt-get install postgresql-15); without it the PostgreSQL tests fail" >&2
  [ -n "$need_jpegtran" ] && echo "install-test-deps: run as root (or install: apt-get install libjpeg-turbo-progs); without it the baseline-copy tests fail" >&2
  exit 0
fi
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
if ! command -v apt-get >/dev/null; then
  echo "install-test-deps: no apt-get here; install OpenStack Swift, Chromium (/usr/bin/chromium), PostgreSQL 15 and jpegtran yourself or the S3, browser, PostgreSQL and baseline-copy tests fail" >&2
  exit 0
fi
$SUDO apt-get update -qq || echo "install-test-deps: apt-get update failed; trying the installs anyway" >&2

# Install only: a policy-rc.d that answers 101 keeps the packages from starting system daemons
# (the tests run their own throwaway servers).
install_quietly() {
  local own_policy=
  [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod +x /usr/sbin/policy-rc.d && own_policy=1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  local status=$?
  [ -n "$own_policy" ] && $SUDO rm -f /usr/sbin/policy-rc.d
  return $status
}

if [ -n "$need_swift" ]; then
  echo "== installing Swift (S3 test server)"
  started=$SECONDS
  install_quietly swift swift-proxy swift-account swift-container swift-object || echo "Swift install failed: the S3 tests will fail" >&2
  echo "   took $((SECONDS - started)) s"
fi

if [ -n "$need_chromium" ]; then
  echo "== installing Chromium (dashboard browser test)"
  started=$SECONDS
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null \
    || echo "Chromium install failed: the dashboard browser test will fail" >&2
  echo "   took $((SECONDS - started)) s"
fi
if [ -n "$need_postgres" ]; then
  echo "== installing PostgreSQL 15 (PostgreSQL tests)"
  started=$SECONDS
  install_quietly postgresql-15 || echo "PostgreSQL install failed: the PostgreSQL tests will fail" >&2
  echo "   took $((SECONDS - started)) s"
fi
if [ -n "$need_jpegtran" ]; then
  echo "== installing jpegtran (baseline copies of progressive JPEGs)"
  install_quietly libjpeg-turbo-progs || echo "jpegtran install failed: the baseline-copy tests will fail" >&2
fi
exit 0
