#!/bin/sh
# Starts nats-server once the provisioning step has written the authorization block: without it
# the server would admit no identity (or, without the include, every client).
set -eu
auth=/etc/nats/auth/auth.conf
# As the container's first process, the shell ignores a signal it has no trap for: stop on one.
trap 'exit 143' TERM INT
until [ -s "$auth" ]; do
  echo "tessera-nats: waiting for $auth (written by the provisioning step)"
  sleep 1
done
exec nats-server -c "${NATS_CONFIG:-/etc/nats/nats-server.conf}" "$@"
