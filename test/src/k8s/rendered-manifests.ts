import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as certManager from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import * as apps from 'kubernetes-models/apps/v1';
import * as autoscaling from 'kubernetes-models/autoscaling/v2';
import * as batch from 'kubernetes-models/batch/v1';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as core from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../system/repo-root.js';

export const K8S_DIR = join(REPO_ROOT, 'deploy', 'k8s');

/** A rendered object: checked against its schema, then read loosely by the tests. */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: the schema check comes first; the tests then read what they assert on
  [key: string]: any;
};

/** The kubectl that scripts/ensure-kubectl.sh found or fetched (dev.sh test exports it), else .tools/bin, else PATH. */
export function kubectlBinary(): string {
  const fromSetup = process.env.TESSERA_KUBECTL_BIN;
  if (fromSetup) return fromSetup;
  const fetched = join(REPO_ROOT, '.tools', 'bin', 'kubectl');
  return existsSync(fetched) ? fetched : 'kubectl';
}

/** `kubectl kustomize deploy/k8s/overlays/<overlay>`, every document parsed. */
export function renderOverlay(overlay: string): K8sObject[] {
  const yaml = execFileSync(kubectlBinary(), ['kustomize', join(K8S_DIR, 'overlays', overlay)], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return parseYamlStream(yaml);
}

export function parseYamlStream(yaml: string): K8sObject[] {
  return parseAllDocuments(yaml)
    .map((document) => {
      if (document.errors.length > 0) throw new Error(document.errors.map((error) => error.message).join('\n'));
      return document.toJS() as K8sObject | null;
    })
    .filter((object): object is K8sObject => object !== null);
}

type Validating = new (data: object) => { validate(): void };
const MODELS: Record<string, Record<string, unknown>> = {
  v1: core,
  'apps/v1': apps,
  'batch/v1': batch,
  'autoscaling/v2': autoscaling,
  'policy/v1': policy,
  'networking.k8s.io/v1': networking,
  'cert-manager.io/v1': certManager,
};

/** Validates against the JSON schema of its apiVersion and kind; throws naming the object and the field. */
export function validateObject(object: K8sObject): void {
  const model = MODELS[object.apiVersion]?.[object.kind] as Validating | undefined;
  if (model === undefined) throw new Error(`${describe(object)}: no schema for ${object.apiVersion} ${object.kind}`);
  try {
    new model(withoutLineBreaksInData(object)).validate();
  } catch (err) {
    throw new Error(`${describe(object)}: ${(err as Error).message}`);
  }
}

/**
 * kustomize folds long base64 values of a Secret's data over lines; the API server's decoder skips
 * line breaks, the schema's `byte` format does not.
 */
function withoutLineBreaksInData(object: K8sObject): K8sObject {
  if (object.kind !== 'Secret' || object.data === undefined) return object;
  const data = Object.fromEntries(
    Object.entries(object.data as Record<string, string>).map(([key, value]) => [key, value.replace(/[\r\n]/g, '')]),
  );
  return { ...object, data };
}

export const describe = (object: K8sObject) =>
  `${object.kind} ${object.metadata.namespace ?? '(cluster)'}/${object.metadata.name}`;

export const ofKind = (objects: readonly K8sObject[], kind: string) => objects.filter((object) => object.kind === kind);

export function find(
  objects: readonly K8sObject[],
  kind: string,
  namespace: string | undefined,
  name: string,
): K8sObject {
  const found = objects.find(
    (object) => object.kind === kind && object.metadata.name === name && object.metadata.namespace === namespace,
  );
  if (found === undefined) throw new Error(`no ${kind} ${namespace}/${name} in the rendered manifests`);
  return found;
}

/** Deployments, StatefulSets and Jobs: whatever has a pod template. */
export const workloads = (objects: readonly K8sObject[]) =>
  objects.filter((object) => ['Deployment', 'StatefulSet', 'Job'].includes(object.kind));

/**
 * A container's environment as the kubelet would make it: its ConfigMaps' data, then its own
 * values. A value from a Secret becomes `secret:<name>/<key>`, resolved by the caller.
 */
export function environmentOf(objects: readonly K8sObject[], workload: K8sObject): Record<string, string> {
  const namespace = workload.metadata.namespace;
  const container = workload.spec.template.spec.containers[0];
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef === undefined) throw new Error(`${describe(workload)}: envFrom other than a ConfigMap`);
    Object.assign(env, find(objects, 'ConfigMap', namespace, source.configMapRef.name).data);
  }
  for (const { name, value, valueFrom } of container.env ?? []) {
    if (valueFrom?.secretKeyRef) env[name] = `secret:${valueFrom.secretKeyRef.name}/${valueFrom.secretKeyRef.key}`;
    else env[name] = value;
  }
  return env;
}

/** Secret name → the keys the workload reads from it (volumes and env), in the workload's namespace. */
export function secretsReadBy(workload: K8sObject): Map<string, Set<string> | 'all'> {
  const reads = new Map<string, Set<string> | 'all'>();
  const add = (name: string, key: string | 'all') => {
    const known = reads.get(name);
    if (key === 'all' || known === 'all') reads.set(name, 'all');
    else reads.set(name, new Set([...(known ?? []), key]));
  };
  for (const volume of workload.spec.template.spec.volumes ?? []) {
    if (volume.secret === undefined) continue;
    const items: { key: string }[] | undefined = volume.secret.items;
    if (items === undefined) add(volume.secret.secretName, 'all');
    else for (const item of items) add(volume.secret.secretName, item.key);
  }
  for (const { valueFrom } of workload.spec.template.spec.containers[0].env ?? [])
    if (valueFrom?.secretKeyRef) add(valueFrom.secretKeyRef.name, valueFrom.secretKeyRef.key);
  return reads;
}

/** The Secret behind a file path in the container (`/etc/tessera/tls/ca.crt`), and its key; null when no volume holds it. */
export function secretFileAt(workload: K8sObject, path: string): { secret: string; key: string } | null {
  const spec = workload.spec.template.spec;
  for (const mount of spec.containers[0].volumeMounts ?? []) {
    const prefix = `${mount.mountPath.replace(/\/$/, '')}/`;
    if (!path.startsWith(prefix)) continue;
    const volume = spec.volumes.find((candidate: { name: string }) => candidate.name === mount.name);
    if (volume?.secret === undefined) return null;
    const file = path.slice(prefix.length);
    const items: { key: string; path: string }[] | undefined = volume.secret.items;
    if (items === undefined) return { secret: volume.secret.secretName, key: file };
    const item = items.find((candidate) => candidate.path === file);
    return item === undefined ? null : { secret: volume.secret.secretName, key: item.key };
  }
  return null;
}
