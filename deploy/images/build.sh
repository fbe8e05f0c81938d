#!/usr/bin/env bash
# Builds every image of a container deployment with podman, from this workspace and Debian's
# packages (no image registry), and prints their sizes:
#   localhost/tessera/<service>:$TAG   each service: its `pnpm deploy --prod` output on Node.js 20
#   localhost/tessera/provision:$TAG   the one-shot provisioning step (the `tessera` CLI, openssl)
#   localhost/tessera/nats:$TAG, postgres:$TAG, prometheus:$TAG
# TAG is $TESSERA_IMAGE_TAG (default dev). The base images (build-bases.sh) are made once and kept.
# Needs root, podman, debootstrap, and a built workspace's toolchain (pnpm).
set -euo pipefail
. "$(dirname "$0")/podman-env.sh"

tag=${TESSERA_IMAGE_TAG:-dev}
work=${TESSERA_IMAGES_WORK:-/var/tmp/tessera-images}
# Each service: its admin port (/metrics, /healthz, /readyz) and, for gRPC services, its gRPC port
# (the defaults of packages/service-kit, here on every interface of the container).
declare -A admin_port=([signing]=9101 [session]=9102 [directory]=9103 [invite]=9104 [projector]=9105 [notifier]=9106 [gateway]=9100)
declare -A grpc_port=([signing]=50051 [session]=50052 [directory]=50053 [invite]=50054)
services=(signing session directory invite projector notifier gateway)

log() { echo "[images] $*" >&2; }

"$images_dir/build-bases.sh"
(cd "$repo_root" && pnpm build >"$work/pnpm-build.log" 2>&1) || { tail -n 30 "$work/pnpm-build.log" >&2; exit 1; }

# $1: the package, $2: the build context; the package's production dependencies only, and of
# Tessera's own packages (the service's and the workspace packages it uses) only what runs: no
# sources or tests. Nothing in any package keeps a declaration, source map or Markdown file: none
# is read at run time.
deploy_package() {
  local package=$1 context=$2
  rm -rf "$context"
  mkdir -p "$context"
  (cd "$repo_root" && pnpm --filter "$package" deploy --prod "$context/app" >"$context.log" 2>&1) ||
    { tail -n 30 "$context.log" >&2; exit 1; }
  local own
  for own in "$context/app" "$context"/app/node_modules/.pnpm/@tessera+*/node_modules/@tessera/*; do
    rm -rf "$own"/{src,dist-test,test-support,test-results.tap,tsconfig.json,tsconfig.build.json,pnpm-lock.yaml,pnpm-workspace.yaml}
  done
  find "$context/app" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \
    -o -name '*.md' -o -name '*.markdown' \) -delete
}

build_image() { # $1: name, $2: Containerfile, $3: context, then podman build's own options
  local name=$1 file=$2 context=$3
  shift 3
  log "building localhost/tessera/$name:$tag"
  podman build --quiet --format docker --layers=false -f "$file" -t "localhost/tessera/$name:$tag" \
    --label "org.opencontainers.image.title=tessera-$name" --label io.tessera.image=1 "$@" "$context" >/dev/null
}

for service in "${services[@]}"; do
  context="$work/context-$service"
  deploy_package "@tessera/$service" "$context"
  cp "$images_dir/healthcheck.mjs" "$context/"
  listen=(--env "TESSERA_METRICS_LISTEN=0.0.0.0:${admin_port[$service]}")
  [ -n "${grpc_port[$service]:-}" ] && listen+=(--env "TESSERA_GRPC_LISTEN=0.0.0.0:${grpc_port[$service]}")
  [ "$service" = gateway ] && listen+=(--env TESSERA_HTTP_HOST=0.0.0.0 --env TESSERA_HTTP_PORT=8090)
  build_image "$service" "$images_dir/service.Containerfile" "$context" "${listen[@]}"
done

context="$work/context-provision"
deploy_package @tessera/cli "$context"
mkdir -p "$context/provision"
cp "$images_dir/provision/provision.sh" "$context/provision/"
build_image provision "$images_dir/provision.Containerfile" "$context"

for infra in nats postgres prometheus; do
  build_image "$infra" "$images_dir/$infra.Containerfile" "$images_dir"
done

# The images these tags named before this build, now untagged.
podman image prune -f --filter label=io.tessera.image=1 >/dev/null

echo "image sizes (podman image inspect .Size):"
for name in "${services[@]}" provision nats postgres prometheus; do
  printf '  %-32s %6s MB\n' "localhost/tessera/$name:$tag" \
    "$(($(podman image inspect --format '{{.Size}}' "localhost/tessera/$name:$tag") / 1000000))"
done
