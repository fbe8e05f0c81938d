#!/usr/bin/env bash
# Builds the base images from Debian's packages alone (no image registry): a `debootstrap
# --variant=minbase` of trixie per kind, from the archive this machine's apt already uses,
# trimmed and `podman import`ed.
#   localhost/tessera/base-node        Node.js 20 (trixie's nodejs), openssl, CA certificates
#   localhost/tessera/base-nats        nats-server 2.10
#   localhost/tessera/base-postgres    PostgreSQL 17
#   localhost/tessera/base-prometheus  Prometheus
# An image that exists already is kept (TESSERA_REBUILD_BASES=1 makes them anew). Needs root,
# debootstrap and podman.
set -euo pipefail
. "$(dirname "$0")/podman-env.sh"

suite=trixie
work=${TESSERA_IMAGES_WORK:-/var/tmp/tessera-images}
declare -A packages=(
  [node]="nodejs,openssl,ca-certificates"
  [nats]="nats-server"
  [postgres]="postgresql"
  [prometheus]="prometheus"
)

log() { echo "[images] $*" >&2; }

# The archive this machine already uses, read from its own apt sources (deb822 or one-line form).
mirror() {
  local found
  found=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {print $2}' | grep -v -- '-security' | grep -i debian | head -n 1 || true)
  [ -n "$found" ] || found=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' | grep -v -- '-security' | grep -i debian | head -n 1 || true)
  [ -n "$found" ] || { log "cannot find a Debian archive in the apt sources"; exit 1; }
  echo "$found"
}

# What a container never needs: documentation, manuals, translations, apt's lists and caches, logs;
# and per kind, files of installed packages that the image never runs.
trim() {
  local kind=$1 root=$2
  rm -rf "$root"/usr/share/{doc,man,info,lintian,linda}/* "$root"/usr/share/locale/* \
    "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
    "$root"/var/log/* "$root"/tmp/* "$root"/var/tmp/*
  case "$kind" in
    postgres)
      # The build's cluster (the entrypoint makes its own); the JIT compiler and what only it
      # loads (the server runs with jit=off); the perl of postgresql-common's wrapper scripts,
      # which the entrypoint does not use.
      rm -rf "$root"/var/lib/postgresql/* "$root"/etc/postgresql/* "$root"/usr/lib/postgresql/*/lib/bitcode \
        "$root"/usr/lib/postgresql/*/lib/llvmjit* "$root"/usr/lib/x86_64-linux-gnu/libLLVM* \
        "$root"/usr/lib/x86_64-linux-gnu/libz3.so* "$root"/usr/share/perl "$root"/usr/lib/x86_64-linux-gnu/perl
      ;;
    prometheus)
      rm -f "$root"/usr/bin/promtool # a checking tool, not the server
      ;;
  esac
}

build_base() {
  local kind=$1 image="localhost/tessera/base-$1:$suite" root="$work/rootfs-$1"
  if [ "${TESSERA_REBUILD_BASES:-0}" != 1 ] && podman image exists "$image"; then
    log "$image exists: kept"
    return
  fi
  log "debootstrap $suite ($kind: ${packages[$kind]})"
  rm -rf "$root"
  mkdir -p "$work/cache"
  debootstrap --variant=minbase --cache-dir="$work/cache" --include="${packages[$kind]}" \
    "$suite" "$root" "$(mirror)" >"$work/debootstrap-$kind.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap-$kind.log" >&2; exit 1; }
  trim "$kind" "$root"
  tar -C "$root" --numeric-owner -c . | podman import --change 'CMD ["/bin/sh"]' - "$image" >/dev/null
  rm -rf "$root"
  log "$image: $(podman image inspect --format '{{.Size}}' "$image") bytes"
}

for kind in "${@:-node nats postgres prometheus}"; do
  for k in $kind; do build_base "$k"; done
done
