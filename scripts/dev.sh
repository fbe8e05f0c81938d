#!/usr/bin/env bash
# The two README commands:
#   scripts/dev.sh start   set up, build, and run the whole system in the foreground
#   scripts/dev.sh test    set up, build, and run every check and test
# Set-up installs only what is missing: pnpm, the npm dependencies (frozen to the lockfile),
# PostgreSQL from the distribution, and nats-server 2.10+ (see scripts/ensure-nats-server.sh); for
# the tests, kubectl 1.27+ (scripts/ensure-kubectl.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

PNPM_VERSION=12.21.0
log() { echo "[setup] $*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else log "need root for: $*"; exit 1
  fi
}

check_node() {
  command -v node >/dev/null || { log "Node.js 20 or newer is required"; exit 1; }
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || { log "Node.js 20 or newer is required (found $(node --version))"; exit 1; }
}

ensure_pnpm() {
  if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
    log "installing pnpm $PNPM_VERSION"
    as_root npm install --global --no-fund --no-audit "pnpm@$PNPM_VERSION" >&2
  fi
}

postgres_present() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null; }

ensure_postgres() {
  if [ -z "${TESSERA_DATABASE_URL:-}" ] && ! postgres_present; then
    log "installing PostgreSQL from the distribution"
    as_root apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  fi
}

ensure_nats() {
  if [ -z "${TESSERA_NATS_URL:-}" ] || [ "${1:-}" = test ]; then
    # Fetching it needs root (apt); finding one already there does not.
    if [ "$(id -u)" -eq 0 ]; then TESSERA_NATS_SERVER_BIN=$(scripts/ensure-nats-server.sh)
    else TESSERA_NATS_SERVER_BIN=$(scripts/ensure-nats-server.sh 2>/dev/null || as_root scripts/ensure-nats-server.sh)
    fi
    export TESSERA_NATS_SERVER_BIN
  fi
}

# kubectl (its kustomize) renders deploy/k8s in the tests.
ensure_kubectl() {
  if [ "$(id -u)" -eq 0 ]; then TESSERA_KUBECTL_BIN=$(scripts/ensure-kubectl.sh)
  else TESSERA_KUBECTL_BIN=$(scripts/ensure-kubectl.sh 2>/dev/null || as_root scripts/ensure-kubectl.sh)
  fi
  export TESSERA_KUBECTL_BIN
}

setup() {
  check_node
  ensure_pnpm
  ensure_postgres
  ensure_nats "$1"
  if [ "$1" = test ]; then ensure_kubectl; fi
  log "installing dependencies"
  pnpm install --frozen-lockfile >&2
  log "building"
  pnpm run build >&2
}

case "${1:-}" in
  start)
    setup start
    shift
    exec node deploy/local/dist/main.js "$@"
    ;;
  test)
    setup test
    pnpm run lint
    find packages services deploy examples test proto -maxdepth 2 -name test-results.tap -delete
    status=0
    pnpm run test || status=$?
    # The closing line adds up every package's results; it fails the run on its own if some are missing.
    if ! node scripts/test-summary.mjs && [ "$status" -eq 0 ]; then status=1; fi
    exit "$status"
    ;;
  *)
    echo "usage: scripts/dev.sh start|test" >&2
    exit 64
    ;;
esac
