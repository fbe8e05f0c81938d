#!/usr/bin/env bash
# Makes a kubectl with `kubectl kustomize` (kustomize v5) available and prints its path: for the
# manifests' test (test/src/k8s-manifests.test.ts) and deploy/k8s/make-secrets.sh.
# Order: $TESSERA_KUBECTL_BIN, kubectl on PATH, the copy under .tools/, then the program of Debian's
# kubectl package (Debian 12's kubernetes-client is 1.20, whose kustomize is too old: the next
# release's, 1.32, is fetched through the machine's own archive, without installing anything).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
wanted_minor=27 # kubectl 1.27 brought kustomize v5
next_debian_suite=trixie
log() { echo "[setup] $*" >&2; }

new_enough() { # $1: a kubectl binary
  local minor
  minor=$("$1" version --client 2>/dev/null | sed -n 's/^Client Version: v1\.\([0-9][0-9]*\)\..*/\1/p')
  [ -n "$minor" ] && [ "$minor" -ge "$wanted_minor" ]
}

for candidate in "${TESSERA_KUBECTL_BIN:-}" "$(command -v kubectl || true)" "$root/.tools/bin/kubectl"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && new_enough "$candidate"; then echo "$candidate"; exit 0; fi
done

command -v apt-get >/dev/null || { log "no kubectl 1.$wanted_minor+ and no apt-get: install one and set TESSERA_KUBECTL_BIN"; exit 1; }
[ "$(id -u)" -eq 0 ] || { log "kubectl 1.$wanted_minor+ is missing: run this as root (or with sudo) to fetch it"; exit 1; }
. /etc/os-release
[ "${ID:-}" = debian ] || { log "no kubectl 1.$wanted_minor+: install one and set TESSERA_KUBECTL_BIN"; exit 1; }
# The package's version is checked by running what it gave (Debian 13 names it kubectl; 12's is older).
bin=$("$root/scripts/fetch-debian-binary.sh" kubectl kubectl "$next_debian_suite")
new_enough "$bin" || { log "the fetched kubectl is older than 1.$wanted_minor"; exit 1; }
log "$("$bin" version --client | head -n 1) at $bin"
echo "$bin"
