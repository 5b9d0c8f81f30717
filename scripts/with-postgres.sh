#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL server: installs Debian's postgresql if it is missing,
# starts a fresh cluster on a free loopback port, exports SEND_INSPECTION_TEST_DB_URL, stops it after.
set -euo pipefail
cd "$(dirname "$0")/.."
pgbin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get install -y -q postgresql >/dev/null || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q postgresql >/dev/null; }
  pgbin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
fi
dir="$(mktemp -d)"
port="$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
as_pg() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres "$dir"
as_pg "'$pgbin/initdb' -D '$dir/data' -A trust -U postgres" >/dev/null
as_pg "'$pgbin/pg_ctl' -D '$dir/data' -l '$dir/log' -w -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=off\" start" >/dev/null
stop() { as_pg "'$pgbin/pg_ctl' -D '$dir/data' -m fast stop" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap stop EXIT
as_pg "'$pgbin/createdb' -h 127.0.0.1 -p $port -U postgres send_inspection_test"
export SEND_INSPECTION_TEST_DB_URL="postgresql+psycopg://postgres@127.0.0.1:$port/send_inspection_test"
echo "PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
"$@"
