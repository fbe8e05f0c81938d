#!/usr/bin/env bash
# Prints (on standard output, as YAML for `kubectl apply -f -`) every Secret the manifests name
# and no manifest holds. What they are made from is kept in <dir> (0700) and reused on the next
# run, so running it again gives the same Secrets:
#   <dir>/nats/<identity>.nk   one nkey seed per NATS identity (`tessera nats-identities`)
#   <dir>/nats/auth.conf       the NATS servers' authorization block (their public keys)
#   <dir>/server.key           the server secret (32 random bytes, base64)
#   <dir>/signing.key          signing's key file (`ed25519 0 <seed>`); the security team's own
#                              key file may be put there first
# Usage: make-secrets.sh <dir> --smtp-url smtp://… [--database-url postgres://…]
# (--database-url: production; the dev overlay makes its own tessera-database Secret.)
# Needs node with the built CLI (pnpm build) and kubectl (it talks to no cluster).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
usage() { echo "usage: $0 <dir> --smtp-url smtp://… [--database-url postgres://…]" >&2; exit 64; }
[ $# -ge 1 ] || usage
dir=$1; shift
smtp_url='' database_url=''
while [ $# -gt 0 ]; do
  case "$1" in
    --smtp-url) smtp_url=${2:-}; shift 2 ;;
    --database-url) database_url=${2:-}; shift 2 ;;
    *) usage ;;
  esac
done
[ -n "$smtp_url" ] || usage
kubectl=${TESSERA_KUBECTL_BIN:-$("$root/scripts/ensure-kubectl.sh")}

umask 077
mkdir -p "$dir/nats"
node "$root/deploy/cli/dist/main.js" nats-identities "$dir/nats" > "$dir/nats/auth.conf" 2>/dev/null
[ -s "$dir/server.key" ] || head -c 32 /dev/urandom | base64 > "$dir/server.key"
# Sydent's and Synapse's format: unpadded base64 of a 32-byte ed25519 seed.
[ -s "$dir/signing.key" ] || printf 'ed25519 0 %s\n' "$(head -c 32 /dev/urandom | base64 | tr -d '=')" > "$dir/signing.key"

secret() { # <namespace> <name> <kubectl create secret generic arguments…>
  local namespace=$1 name=$2; shift 2
  echo '---'
  "$kubectl" create secret generic "$name" --namespace "$namespace" "$@" --dry-run=client -o yaml
}

# Each service gets its own NATS identity only; admin's goes to the provisioning Job alone, and
# analytics' stays in <dir> for whoever runs the analytics reader.
for identity in gateway session directory invite projector notifier admin; do
  secret tessera "tessera-nats-$identity" --from-file="$identity.nk=$dir/nats/$identity.nk"
done
secret tessera-signing tessera-nats-signing --from-file="signing.nk=$dir/nats/signing.nk"
secret tessera nats-auth --from-file="auth.conf=$dir/nats/auth.conf"
secret tessera tessera-server-secret --from-file="server.key=$dir/server.key"
secret tessera-signing signing-key --from-file="signing.key=$dir/signing.key"
secret tessera tessera-smtp --from-literal="url=$smtp_url"
if [ -n "$database_url" ]; then secret tessera tessera-database --from-literal="url=$database_url"; fi
