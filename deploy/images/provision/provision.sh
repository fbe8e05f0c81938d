#!/bin/sh
# The one-shot provisioning of a container deployment (deploy/compose), run by the provision image
# as uid 65534. Everything it makes is kept and reused on the next run, so it is safe to run again:
#   1. NATS: the cluster's routes with a password of their own (nats-auth/cluster.conf), one nkey
#      seed per identity (`tessera nats-identities`) and the servers' authorization block
#      (nats-auth/auth.conf, admitting those keys only);
#   2. a CA and one certificate per service (CN and DNS name = the service name), for mTLS;
#   3. the server secret (32 random bytes, base64);
#   4. each service's own files in its own volume, and nothing else: ca.pem, tls.pem, tls-key.pem,
#      nats.nk, and server.key for the services that hold the server secret;
#   5. once the NATS cluster answers, the streams and buckets (`tessera provision` as admin).
# The CA key, the admin seed and the other seeds stay in the state volume, mounted here only.
set -eu

state=${PROVISION_STATE_DIR:-/var/lib/tessera-provision}
out=${PROVISION_OUT_DIR:-/out}
services="signing session directory invite projector notifier gateway"
secret_holders="session directory invite gateway"
tessera() { node /app/dist/main.js "$@"; }
log() { echo "provision: $*"; }

umask 077
mkdir -p "$state/pki" "$state/secrets"

# 1. NATS: the cluster's route password and block (cluster.conf: the nodes of $NATS_ROUTES admit
#    only each other), then the identities and the authorization block (auth.conf). Each is
#    written whole and then moved into place: the NATS containers wait for auth.conf, written last.
if [ ! -s "$state/nats-route.password" ]; then
  head -c 24 /dev/urandom | base64 | tr '+/' '-_' >"$state/.nats-route.password.new"
  mv "$state/.nats-route.password.new" "$state/nats-route.password"
fi
route_password=$(cat "$state/nats-route.password")
{
  echo "# The cluster's routes: written by the provisioning step; the password is the routes' own."
  echo "cluster {"
  echo "  name: tessera"
  echo "  listen: 0.0.0.0:6222"
  echo "  authorization { user: route, password: \"$route_password\" }"
  echo "  routes: ["
  for route in ${NATS_ROUTES:?set NATS_ROUTES: every node as host:port of its cluster listener}; do
    echo "    nats-route://route:$route_password@$route"
  done
  echo "  ]"
  echo "}"
} >"$out/nats-auth/.cluster.conf.new"
chmod 0444 "$out/nats-auth/.cluster.conf.new"
mv "$out/nats-auth/.cluster.conf.new" "$out/nats-auth/cluster.conf"
tessera nats-identities "$state/nats" >"$out/nats-auth/.auth.conf.new"
chmod 0444 "$out/nats-auth/.auth.conf.new"
mv "$out/nats-auth/.auth.conf.new" "$out/nats-auth/auth.conf"

# 2. The CA (ECDSA P-256, ten years) and each service's certificate (825 days, server and client).
pki="$state/pki"
if [ ! -s "$pki/ca.pem" ] || [ ! -s "$pki/ca-key.pem" ]; then
  log "making a CA"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$pki/ca-key.pem"
  openssl req -x509 -new -key "$pki/ca-key.pem" -sha256 -days 3650 -subj "/CN=Tessera deployment CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" -out "$pki/ca.pem"
  rm -f "$pki"/*.cert.pem
fi
for service in $services; do
  [ -s "$pki/$service.cert.pem" ] && continue
  log "issuing the certificate of $service"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$pki/$service.key.pem"
  openssl req -new -key "$pki/$service.key.pem" -subj "/CN=$service" -out "$pki/$service.csr"
  printf 'subjectAltName=DNS:%s,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n' \
    "$service" >"$pki/$service.ext"
  openssl x509 -req -in "$pki/$service.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca-key.pem" -CAcreateserial \
    -days 825 -sha256 -extfile "$pki/$service.ext" -out "$pki/$service.cert.pem" 2>/dev/null
  rm -f "$pki/$service.csr" "$pki/$service.ext"
done

# 3. The server secret: made once; every address key and session id in the stream depends on it.
if [ ! -s "$state/secrets/server.key" ]; then
  log "making the server secret"
  head -c 32 /dev/urandom | base64 >"$state/secrets/.server.key.new"
  mv "$state/secrets/.server.key.new" "$state/secrets/server.key"
fi

# 4. Each service's volume: its own files only (0400; every service runs as uid 65534, so the
#    volumes, not the modes, keep one service from another's files).
for service in $services; do
  dir="$out/$service"
  install -m 0444 "$pki/ca.pem" "$dir/ca.pem"
  install -m 0444 "$pki/$service.cert.pem" "$dir/tls.pem"
  install -m 0400 "$pki/$service.key.pem" "$dir/tls-key.pem"
  install -m 0400 "$state/nats/$service.nk" "$dir/nats.nk"
  case " $secret_holders " in
    *" $service "*) install -m 0400 "$state/secrets/server.key" "$dir/server.key" ;;
  esac
done
log "files handed out: $services"

# 5. Streams and buckets, once the cluster has a JetStream leader (each try fails fast until then).
attempts=${PROVISION_ATTEMPTS:-120}
i=0
until TESSERA_NATS_CREDENTIALS_FILE="$state/nats/admin.nk" tessera provision; do
  i=$((i + 1))
  [ "$i" -lt "$attempts" ] || { log "NATS was not ready after $attempts attempts"; exit 1; }
  sleep 2
done
log "done"
