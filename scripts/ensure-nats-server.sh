#!/usr/bin/env bash
# Makes a nats-server >= 2.10 available and prints its path.
# Order: $TESSERA_NATS_SERVER_BIN, nats-server on PATH, the copy under .tools/, the distribution's
# package when it is new enough, and on Debian releases whose package is too old (12 ships 2.9.10,
# which rejects `sync_interval`), the binary of the next release's package, fetched through the
# machine's own configured archive and extracted without installing anything else from it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools/bin"
wanted_major=2 wanted_minor=10
next_debian_suite=trixie

log() { echo "[setup] $*" >&2; }

new_enough() { # $1: a nats-server binary
  local v
  v=$("$1" --version 2>/dev/null | sed -n 's/.*v\{0,1\}\([0-9][0-9]*\)\.\([0-9][0-9]*\)\.[0-9][0-9]*.*/\1 \2/p' | head -n 1)
  [ -n "$v" ] || return 1
  set -- $v
  [ "$1" -gt "$wanted_major" ] || { [ "$1" -eq "$wanted_major" ] && [ "$2" -ge "$wanted_minor" ]; }
}

for candidate in "${TESSERA_NATS_SERVER_BIN:-}" "$(command -v nats-server || true)" "$tools/nats-server"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && new_enough "$candidate"; then echo "$candidate"; exit 0; fi
done

command -v apt-get >/dev/null || { log "no nats-server >= 2.10 and no apt-get: install nats-server 2.10+ and set TESSERA_NATS_SERVER_BIN"; exit 1; }
[ "$(id -u)" -eq 0 ] || { log "nats-server >= 2.10 is missing: run this as root (or with sudo) to fetch it"; exit 1; }

version_ok() { dpkg --compare-versions "$1" ge "$wanted_major.$wanted_minor"; }

candidate=$(apt-cache policy nats-server 2>/dev/null | sed -n 's/^ *Candidate: *//p')
if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
  apt-get update -qq >&2 || true
  candidate=$(apt-cache policy nats-server 2>/dev/null | sed -n 's/^ *Candidate: *//p')
fi

if [ -n "$candidate" ] && [ "$candidate" != "(none)" ] && version_ok "$candidate"; then
  log "installing nats-server $candidate from the distribution"
  "$root/scripts/fetch-debian-binary.sh" nats-server nats-server >/dev/null
else
  . /etc/os-release
  [ "${ID:-}" = debian ] || { log "the distribution's nats-server ($candidate) is older than 2.10: install 2.10+ and set TESSERA_NATS_SERVER_BIN"; exit 1; }
  log "nats-server $candidate is too old; fetching Debian $next_debian_suite's package"
  "$root/scripts/fetch-debian-binary.sh" nats-server nats-server "$next_debian_suite" >/dev/null
fi

new_enough "$tools/nats-server" || { log "the fetched nats-server is not 2.10+"; exit 1; }
log "nats-server $("$tools/nats-server" --version) at $tools/nats-server"
echo "$tools/nats-server"
