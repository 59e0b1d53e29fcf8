#!/usr/bin/env bash
# The test suite talks to the real PostgreSQL (127.0.0.1:5432) and NATS (127.0.0.1:4222) and
# drives Debian's chromium.
# Start / install what is missing when we can; otherwise say how to get it.
set -u

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 50); do port_open "$1" && return 0; sleep 0.2; done
  return 1
}

if ! port_open 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "PostgreSQL is stopped; starting it" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  wait_port 5432 || {
    echo "PostgreSQL is not reachable on 127.0.0.1:5432. Install and start it (Debian: apt-get install -y postgresql; pg_ctlcluster 15 main start) with trust auth and a database named 'test', or set TRILINK_TEST_PG to a reachable URL." >&2
    exit 1
  }
fi

# The NATS JetStream transport's tests start their own nats-server (own port, users and
# permissions); the system one on 127.0.0.1:4222 (JetStream on) is started here when stopped.
if ! port_open 4222; then
  if command -v nats-server >/dev/null 2>&1; then
    echo "NATS is stopped; starting nats-server -js on 127.0.0.1:4222" >&2
    mkdir -p /var/lib/nats-server 2>/dev/null || true
    store=/var/lib/nats-server; [ -w "$store" ] || store="${TMPDIR:-/tmp}/nats-server"
    setsid nats-server -a 127.0.0.1 -p 4222 -js -sd "$store" >/dev/null 2>&1 < /dev/null &
    wait_port 4222 || echo "warning: nats-server did not start on 127.0.0.1:4222" >&2
  else
    echo "warning: nats-server is not installed (apt-get install -y nats-server): the NATS transport tests are skipped" >&2
  fi
fi

# The COP's browser tests drive Debian's chromium (never a downloaded browser).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2 \
      || echo "warning: could not install chromium; browser tests will be skipped" >&2
  else
    echo "warning: /usr/bin/chromium missing; install it (apt-get install -y chromium) or the browser tests are skipped" >&2
  fi
fi
exit 0
