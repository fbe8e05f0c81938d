#!/usr/bin/env bash
# Deploys an overlay (dev or production) in order: everything but the services (namespaces,
# settings, certificates, policies, the provisioning Job), then waits for the Job, then the
# services. The Job of the last release is deleted first: a Job runs once, and its pod template
# cannot be changed in place. Usage: apply.sh <overlay>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
overlay=${1:?usage: apply.sh dev|production}
rendered=$(mktemp)
trap 'rm -f "$rendered"' EXIT
kubectl kustomize "$here/overlays/$overlay" > "$rendered"
kubectl delete job --namespace tessera tessera-provision --ignore-not-found
kubectl apply -f "$rendered" --selector 'app.kubernetes.io/component!=server'
kubectl wait --namespace tessera --for=condition=complete job/tessera-provision --timeout=10m
kubectl apply -f "$rendered"
