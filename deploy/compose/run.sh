#!/usr/bin/env bash
# The compose deployment under podman-compose (which knows neither profiles nor start conditions:
# the services are named here, Grafana's profile left out, and each service restarts until what
# it needs is there).
#   run.sh up      start everything (TESSERA_POSTGRES_PASSWORD must be set)
#   run.sh down    stop and remove the containers (volumes kept; `down -v` removes them too)
#   run.sh ps|logs [service]
set -euo pipefail
. "$(dirname "$0")/../images/podman-env.sh"
cd "$(dirname "$0")"
project=${TESSERA_COMPOSE_PROJECT:-tessera}
services=(provision nats-1 nats-2 nats-3 postgres signing session projector directory invite notifier gateway prometheus)
compose() { podman-compose -p "$project" -f compose.yaml "$@"; }

case "${1:-}" in
  up)
    : "${TESSERA_POSTGRES_PASSWORD:?set TESSERA_POSTGRES_PASSWORD (the database password, used on the first start)}"
    compose up -d "${services[@]}"
    ;;
  down)
    shift
    # A container that restarts on failure can come back between compose's stop and rm: remove
    # every container of the project by force first.
    podman ps -aq --filter "label=io.podman.compose.project=$project" | xargs -r podman rm -f >/dev/null
    compose down "$@"
    # podman-compose 1.0.3 leaves the project's network behind.
    podman network rm "${project}_default" >/dev/null 2>&1 || true
    ;;
  ps | logs)
    compose "$@"
    ;;
  *)
    echo "usage: $0 up | down [-v] | ps | logs [service]" >&2
    exit 64
    ;;
esac
