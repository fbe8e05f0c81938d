#!/bin/sh
# Starts nats-server once the provisioning step has written the authorization block: without it
# the server would admit no identity (or, without the include, every client).
set -eu
auth=/etc/nats/auth/auth.conf
until [ -s "$auth" ]; do
  echo "tessera-nats: waiting for $auth (written by the provisioning step)"
  sleep 1
done
exec nats-server -c "${NATS_CONFIG:-/etc/nats/nats-server.conf}" "$@"
