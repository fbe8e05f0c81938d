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

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

version_ok() { dpkg --compare-versions "$1" ge "$wanted_major.$wanted_minor"; }

candidate=$(apt-cache policy nats-server 2>/dev/null | sed -n 's/^ *Candidate: *//p')
if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
  apt-get update -qq >&2 || true
  candidate=$(apt-cache policy nats-server 2>/dev/null | sed -n 's/^ *Candidate: *//p')
fi

if [ -n "$candidate" ] && [ "$candidate" != "(none)" ] && version_ok "$candidate"; then
  log "installing nats-server $candidate from the distribution"
  (cd "$work" && apt-get -o "APT::Sandbox::User=root" download -qq nats-server >&2)
else
  . /etc/os-release
  [ "${ID:-}" = debian ] || { log "the distribution's nats-server ($candidate) is older than 2.10: install 2.10+ and set TESSERA_NATS_SERVER_BIN"; exit 1; }
  # The archive this machine already uses, read from its own apt sources (deb822 or one-line form).
  mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {print $2}' | grep -v -- '-security' | head -n 1)
  [ -n "$mirror" ] || mirror=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' | grep -v -- '-security' | head -n 1)
  [ -n "$mirror" ] || { log "cannot find a Debian archive in the apt sources"; exit 1; }
  log "nats-server $candidate is too old; fetching Debian $next_debian_suite's package through the configured archive"
  mkdir -p "$work/lists/partial" "$work/archives/partial"
  echo "deb $mirror $next_debian_suite main" > "$work/sources.list"
  apt_opts=(-o "APT::Sandbox::User=root" -o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-" -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::Archives=$work/archives" -o "APT::Get::List-Cleanup=0")
  apt-get "${apt_opts[@]}" update -qq >&2
  (cd "$work" && apt-get "${apt_opts[@]}" download -qq nats-server >&2)
fi

deb=$(ls "$work"/nats-server_*.deb | head -n 1)
dpkg-deb -x "$deb" "$work/extract"
mkdir -p "$tools"
bin=$(find "$work/extract" -type f -name nats-server -perm -u+x | head -n 1)
[ -n "$bin" ] || { log "no nats-server binary in $deb"; exit 1; }
install -m 0755 "$bin" "$tools/nats-server"
new_enough "$tools/nats-server" || { log "the fetched nats-server is not 2.10+"; exit 1; }
log "nats-server $("$tools/nats-server" --version) at $tools/nats-server"
echo "$tools/nats-server"
