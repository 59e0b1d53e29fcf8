#!/usr/bin/env bash
# The test suite talks to the real PostgreSQL (127.0.0.1:5432) and NATS (127.0.0.1:4222).
# Start them when they are installed but stopped; otherwise say how to get them.
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

if ! port_open 4222; then
  if [ -x /usr/sbin/nats-server ]; then
    echo "NATS is stopped; starting it" >&2
    mkdir -p /var/lib/nats-server
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
      -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log || true
  fi
  wait_port 4222 || echo "warning: NATS is not reachable on 127.0.0.1:4222; JetStream tests will fail. Start it with: nats-server -a 127.0.0.1 -p 4222 -js" >&2
fi
exit 0
