#!/bin/sh
# Makes the cluster on the first start (fsync on, scram-sha-256 over TCP, the database
# $POSTGRES_DB owned by $POSTGRES_USER with the password $POSTGRES_PASSWORD: the services' database
# URL carries it too), then runs PostgreSQL in the foreground.
set -eu
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
export PATH="$bin:$PATH"
pgdata=/data/pgdata
: "${POSTGRES_USER:=tessera}" "${POSTGRES_DB:=tessera}"
if [ ! -s "$pgdata/PG_VERSION" ]; then
  [ -n "${POSTGRES_PASSWORD:-}" ] || { echo "tessera-postgres: set POSTGRES_PASSWORD" >&2; exit 78; }
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$pgdata" --username="$POSTGRES_USER" --pwfile="$pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$pgdata/pg_hba.conf"
  echo "CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$POSTGRES_USER\";" |
    postgres --single -D "$pgdata" -c unix_socket_directories=/tmp postgres >/dev/null
  echo "tessera-postgres: made the cluster and the database $POSTGRES_DB"
fi
exec postgres -D "$pgdata" -c listen_addresses='*' -c unix_socket_directories=/tmp -c fsync=on -c jit=off "$@"
