import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '@tessera/config';
import { parse } from 'yaml';
import {
  describe as describeObject,
  environmentOf,
  find,
  K8S_DIR,
  type K8sObject,
  kubectlBinary,
  ofKind,
  parseYamlStream,
  renderOverlay,
  secretFileAt,
  secretsReadBy,
  validateObject,
  workloads,
} from './rendered-manifests.js';

const SERVICES = ['signing', 'session', 'directory', 'invite', 'projector', 'notifier', 'gateway'] as const;
/** Who calls whom over gRPC: the clients each service's code makes (gateway.ts, directory-server.ts, invite-server.ts). */
const CALLERS: Record<string, string[]> = {
  signing: ['gateway', 'directory', 'invite'],
  session: ['gateway', 'directory'],
  directory: ['gateway'],
  invite: ['gateway'],
};
const SERVER_SECRET_HOLDERS = ['session', 'directory', 'invite', 'gateway'];
const namespaceOf = (service: string) => (service === 'signing' ? 'tessera-signing' : 'tessera');
const OVERLAYS = ['dev', 'production'] as const;

/** What a Secret's value would be, for checking the settings through the configuration schema. */
const SAMPLE_SECRET_VALUES: Record<string, string> = {
  'tessera-database/url': 'postgres://tessera@db.example.org:5432/tessera',
  'tessera-smtp/url': 'smtp://mail.example.org:587',
};

describe('deploy/k8s: the rendered overlays', () => {
  const rendered: Record<string, K8sObject[]> = {};
  before(() => {
    for (const overlay of OVERLAYS) rendered[overlay] = renderOverlay(overlay);
  });
  const each = (check: (objects: K8sObject[], overlay: string) => void) => {
    for (const overlay of OVERLAYS) check(rendered[overlay] as K8sObject[], overlay);
  };
  const service = (objects: K8sObject[], name: string) => find(objects, 'Deployment', namespaceOf(name), name);

  it('renders with kubectl kustomize, and every object passes its Kubernetes or cert-manager schema', () => {
    each((objects, overlay) => {
      assert.ok(objects.length > 50, `${overlay}: ${objects.length} objects`);
      for (const object of objects) validateObject(object);
      for (const name of SERVICES) service(objects, name);
    });
  });

  it('every pod runs as a non-root user (Tessera’s as 65534) with a read-only root, no capabilities, no privilege escalation, RuntimeDefault seccomp and no API token', () => {
    each((objects) => {
      for (const workload of workloads(objects)) {
        const what = describeObject(workload);
        const pod = workload.spec.template.spec;
        assert.equal(pod.automountServiceAccountToken, false, what);
        assert.equal(pod.securityContext?.runAsNonRoot, true, what);
        assert.ok(pod.securityContext.runAsUser > 0, what);
        assert.equal(pod.securityContext.seccompProfile?.type, 'RuntimeDefault', what);
        if (workload.metadata.labels?.['app.kubernetes.io/part-of'] === 'tessera') {
          assert.equal(pod.securityContext.runAsUser, 65534, what);
          assert.equal(pod.securityContext.runAsGroup, 65534, what);
        }
        for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
          const context = container.securityContext;
          assert.equal(context?.runAsNonRoot, true, `${what} ${container.name}`);
          assert.equal(context.readOnlyRootFilesystem, true, `${what} ${container.name}`);
          assert.equal(context.allowPrivilegeEscalation, false, `${what} ${container.name}`);
          assert.deepEqual(context.capabilities?.drop, ['ALL'], `${what} ${container.name}`);
          assert.equal(context.capabilities.add, undefined, `${what} ${container.name}`);
          assert.equal(context.privileged, undefined, `${what} ${container.name}`);
        }
      }
    });
  });

  it('probes /healthz (liveness) and /readyz (readiness) on the admin port, the one TESSERA_METRICS_LISTEN binds on every address', () => {
    each((objects) => {
      for (const name of SERVICES) {
        const deployment = service(objects, name);
        const container = deployment.spec.template.spec.containers[0];
        const admin = container.ports.find((port: { name: string }) => port.name === 'admin');
        assert.ok(admin, `${name}: no port named admin`);
        assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'admin' }, name);
        assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'admin' }, name);
        assert.equal(environmentOf(objects, deployment).TESSERA_METRICS_LISTEN, `0.0.0.0:${admin.containerPort}`, name);
      }
    });
  });

  it('each service’s settings pass the configuration schema, and every file it names is in a Secret it mounts', () => {
    each((objects, overlay) => {
      for (const name of SERVICES) {
        const deployment = service(objects, name);
        const env = environmentOf(objects, deployment);
        const values = Object.fromEntries(
          Object.entries(env).map(([key, value]) => [
            key,
            value.startsWith('secret:')
              ? (SAMPLE_SECRET_VALUES[value.slice(7)] ?? assert.fail(`${name}: ${key} from ${value}`))
              : value,
          ]),
        );
        assert.doesNotThrow(() => loadConfig(values), `${overlay} ${name}`);
        for (const [key, path] of Object.entries(env).filter(([key]) => /_FILE$|^NODE_EXTRA_CA_CERTS$/.test(key)))
          assert.ok(secretFileAt(deployment, path), `${overlay} ${name}: ${key}=${path} is in no mounted Secret`);
        const nats = secretFileAt(deployment, env.TESSERA_NATS_CREDENTIALS_FILE as string);
        assert.deepEqual(nats, { secret: `tessera-nats-${name}`, key: `${name}.nk` }, `${name}: its own NATS identity`);
        assert.deepEqual(secretFileAt(deployment, env.TESSERA_TLS_CERT_FILE as string), {
          secret: `${name}-tls`,
          key: 'tls.crt',
        });
      }
    });
  });

  it('gives the server secret, the mail server and the signing key only to the services that use them', () => {
    each((objects) => {
      for (const name of SERVICES) {
        const deployment = service(objects, name);
        const secrets = secretsReadBy(deployment);
        assert.equal(secrets.has('tessera-server-secret'), SERVER_SECRET_HOLDERS.includes(name), name);
        assert.equal(secrets.has('tessera-smtp'), name === 'notifier', name);
        assert.equal(secrets.has('signing-key'), name === 'signing', name);
        assert.equal(secrets.has('tessera-database'), ['directory', 'invite', 'projector'].includes(name), name);
        const others = [...secrets.keys()].filter((secret) => secret.startsWith('tessera-nats-'));
        assert.deepEqual(others, [`tessera-nats-${name}`], `${name} reads no other NATS identity`);
      }
      const job = find(objects, 'Job', 'tessera', 'tessera-provision');
      assert.deepEqual([...secretsReadBy(job).keys()].sort(), ['provision-tls', 'tessera-nats-admin']);
    });
  });

  it('every gRPC target is dns:/// to the callee’s headless Service on its gRPC port, a name the certificate it serves holds; each caller’s certificate carries the name the callee’s allow-list admits', () => {
    each((objects, overlay) => {
      /** The Certificate behind the pair a service's pods present (the Secret at TESSERA_TLS_CERT_FILE). */
      const certificateOf = (name: string) => {
        const deployment = service(objects, name);
        const served = secretFileAt(deployment, environmentOf(objects, deployment).TESSERA_TLS_CERT_FILE as string);
        const certificate = ofKind(objects, 'Certificate').find(
          (c) => c.metadata.namespace === namespaceOf(name) && c.spec.secretName === served?.secret,
        );
        return certificate ?? assert.fail(`${overlay} ${name}: its TLS files come from no Certificate`);
      };
      for (const name of SERVICES)
        for (const [key, target] of Object.entries(environmentOf(objects, service(objects, name))))
          if (/^TESSERA_[A-Z]+_ADDR$/.test(key)) assert.match(target, /^dns:\/\/\//, `${overlay} ${name}: ${key}`);
      for (const [callee, callers] of Object.entries(CALLERS)) {
        const calleeEnv = environmentOf(objects, service(objects, callee));
        const served = certificateOf(callee);
        assert.equal(served.spec.commonName, callee);
        assert.ok(served.spec.usages.includes('server auth'), `${callee} serves with its certificate`);
        const allowed = calleeEnv[`TESSERA_${callee.toUpperCase()}_ALLOWED_CLIENTS`]?.split(',') ?? [];
        for (const caller of callers) {
          const where = `${overlay}: ${caller} calling ${callee}`;
          const target = environmentOf(objects, service(objects, caller))[`TESSERA_${callee.toUpperCase()}_ADDR`];
          const [, host, port] = /^dns:\/\/\/([^:/]+):(\d+)$/.exec(target ?? '') ?? assert.fail(`${where}: ${target}`);
          assert.equal(host, `${callee}.${namespaceOf(callee)}.svc.cluster.local`, where);
          const svc = find(objects, 'Service', namespaceOf(callee), callee);
          assert.equal(svc.spec.clusterIP, 'None', `${callee}: headless, its name resolves to every pod`);
          assert.ok(
            svc.spec.ports.some((p: { name: string; port: number }) => p.name === 'grpc' && p.port === Number(port)),
            where,
          );
          assert.equal(calleeEnv.TESSERA_GRPC_LISTEN, `0.0.0.0:${port}`, `${callee} listens where it is dialled`);
          // grpc-js checks the callee's certificate against the host of a dns:/// target.
          assert.ok(served.spec.dnsNames.includes(host), `${where}: ${callee}'s certificate names ${host}`);
          // The callee admits a caller by a name of its certificate (CN or DNS name): its first.
          const presented = certificateOf(caller);
          assert.equal(presented.spec.dnsNames[0], presented.spec.commonName, `${caller}: its name first`);
          assert.ok(allowed.includes(presented.spec.commonName), `${where}: ${presented.spec.commonName} is admitted`);
          assert.ok(presented.spec.usages.includes('client auth'), where);
        }
        // Connections end so that clients resolve the name again and find pods added since.
        const maxAge = Number(calleeEnv.TESSERA_GRPC_MAX_CONNECTION_AGE_MS);
        assert.ok(maxAge > 0 && maxAge <= 600_000, `${overlay} ${callee}: a maximum connection age of minutes`);
      }
      for (const name of SERVICES) {
        const certificate = find(objects, 'Certificate', namespaceOf(name), `${name}-tls`);
        assert.equal(certificate.spec.dnsNames[0], name, `${name}: the allow-lists' name first`);
        assert.equal(certificate.spec.issuerRef.name, 'tessera-ca');
        // cert-manager renews into the mounted Secret: the service reads the files again.
        assert.ok(Number(environmentOf(objects, service(objects, name)).TESSERA_TLS_RELOAD_INTERVAL_MS) > 0, name);
      }
      assert.equal(find(objects, 'ClusterIssuer', undefined, 'tessera-ca').spec.ca.secretName, 'tessera-ca');
    });
  });

  it('signing is alone in its namespace behind default-deny, admitting only its callers on gRPC and Prometheus on the admin port', () => {
    each((objects) => {
      const inSigning = objects.filter((object) => object.metadata.namespace === 'tessera-signing');
      assert.deepEqual(
        ofKind(inSigning, 'Deployment').map((d) => d.metadata.name),
        ['signing'],
      );
      const policies = ofKind(inSigning, 'NetworkPolicy');
      const denyAll = policies.find((p) => Object.keys(p.spec.podSelector).length === 0);
      assert.ok(denyAll, 'a default-deny policy');
      assert.deepEqual(denyAll.spec.policyTypes.sort(), ['Egress', 'Ingress']);
      assert.equal(denyAll.spec.ingress, undefined);
      assert.equal(denyAll.spec.egress, undefined);
      const grpcPeers: string[] = [];
      for (const policy of policies)
        for (const rule of policy.spec.ingress ?? []) {
          assert.ok(rule.from?.length > 0 && rule.ports?.length > 0, `${policy.metadata.name}: no rule open to all`);
          const ports = rule.ports.map((port: { port: string }) => port.port);
          for (const peer of rule.from) {
            if (ports.includes('grpc')) {
              assert.deepEqual(peer.namespaceSelector, { matchLabels: { 'kubernetes.io/metadata.name': 'tessera' } });
              const [names] = peer.podSelector.matchExpressions;
              assert.equal(names.key, 'app.kubernetes.io/name');
              assert.equal(names.operator, 'In');
              grpcPeers.push(...names.values);
            } else {
              assert.deepEqual(ports, ['admin']);
              assert.deepEqual(peer.podSelector, { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } });
            }
          }
        }
      assert.deepEqual(grpcPeers.sort(), [...(CALLERS.signing as string[])].sort());
      const allowed = environmentOf(objects, service(objects, 'signing')).TESSERA_SIGNING_ALLOWED_CLIENTS;
      assert.deepEqual(
        allowed?.split(',').sort(),
        grpcPeers.sort(),
        'the certificate allow-list names the same callers',
      );
      for (const policy of policies)
        for (const rule of policy.spec.egress ?? [])
          assert.ok(rule.to?.length > 0 && rule.ports?.length > 0, `${policy.metadata.name}: no egress open to all`);
    });
  });

  it('each other gRPC service admits on its gRPC port exactly the callers of its allow-list', () => {
    each((objects) => {
      const policies = ofKind(objects, 'NetworkPolicy').filter((p) => p.metadata.namespace === 'tessera');
      assert.ok(policies.some((p) => Object.keys(p.spec.podSelector).length === 0 && p.spec.ingress === undefined));
      for (const callee of ['session', 'directory', 'invite']) {
        const peers = policies
          .filter((p) => p.spec.podSelector.matchLabels?.['app.kubernetes.io/name'] === callee)
          .flatMap((p) => p.spec.ingress ?? [])
          .filter((rule) => rule.ports.some((port: { port: string }) => port.port === 'grpc'))
          .flatMap((rule) => rule.from)
          .flatMap(
            (peer) =>
              peer.podSelector.matchExpressions?.[0]?.values ?? [
                peer.podSelector.matchLabels['app.kubernetes.io/name'],
              ],
          );
        assert.deepEqual(peers.sort(), [...(CALLERS[callee] as string[])].sort(), callee);
        const allowed = environmentOf(objects, service(objects, callee))[
          `TESSERA_${callee.toUpperCase()}_ALLOWED_CLIENTS`
        ];
        assert.deepEqual(allowed?.split(',').sort(), peers.sort(), `${callee}: allow-list`);
      }
    });
  });

  it('every service has a headless Service and a PodDisruptionBudget, and an autoscaler unless it is the projector, each selecting its pods', () => {
    each((objects) => {
      for (const name of SERVICES) {
        const namespace = namespaceOf(name);
        const podLabels = service(objects, name).spec.template.metadata.labels;
        const selects = (selector: Record<string, string>) =>
          Object.entries(selector).every(([key, value]) => podLabels[key] === value);
        const svc = find(objects, 'Service', namespace, name);
        assert.equal(svc.spec.clusterIP, 'None');
        assert.ok(selects(svc.spec.selector), `${name}: Service selects its pods`);
        assert.ok(selects(find(objects, 'PodDisruptionBudget', namespace, name).spec.selector.matchLabels));
        const hpa = ofKind(objects, 'HorizontalPodAutoscaler').find((h) => h.metadata.name === name);
        if (name === 'projector') assert.equal(hpa, undefined, 'one active projector: replicas add no throughput');
        else {
          assert.ok(hpa, `${name}: an autoscaler`);
          assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name });
          assert.ok(hpa.spec.minReplicas <= hpa.spec.maxReplicas);
        }
      }
    });
  });

  it('the overlays differ as intended: dev is small with its own PostgreSQL, production replicated with the operator’s', () => {
    const dev = rendered.dev as K8sObject[];
    const production = rendered.production as K8sObject[];
    const jobEnv = (objects: K8sObject[]) =>
      environmentOf(objects, find(objects, 'Job', 'tessera', 'tessera-provision'));

    assert.ok(find(dev, 'StatefulSet', 'tessera', 'postgres'));
    assert.match(find(dev, 'Secret', 'tessera', 'tessera-database').data.url, /./);
    for (const deployment of ofKind(dev, 'Deployment'))
      assert.equal(deployment.spec.replicas, 1, describeObject(deployment));
    assert.equal(jobEnv(dev).TESSERA_NATS_REPLICAS, '1');
    assert.equal(jobEnv(dev).TESSERA_NATS_MONITOR_URLS?.split(',').length, 1);

    assert.deepEqual(ofKind(production, 'StatefulSet'), []);
    assert.deepEqual(ofKind(production, 'Secret'), [], 'production holds no Secret: the operator makes them');
    for (const deployment of ofKind(production, 'Deployment'))
      assert.ok(
        deployment.spec.replicas >= (deployment.metadata.name === 'projector' ? 2 : 3),
        describeObject(deployment),
      );
    for (const hpa of ofKind(production, 'HorizontalPodAutoscaler')) assert.ok(hpa.spec.minReplicas >= 3);
    assert.equal(jobEnv(production).TESSERA_NATS_REPLICAS, '3');
    assert.equal(jobEnv(production).TESSERA_NATS_MONITOR_URLS?.split(',').length, 3);
    assert.ok(environmentOf(production, service(production, 'gateway')).TESSERA_TRUSTED_PROXIES);

    const settings = (objects: K8sObject[], namespace: string, name: string) =>
      find(objects, 'ConfigMap', namespace, name).data;
    each((objects) => {
      assert.equal(
        settings(objects, 'tessera-signing', 'signing-settings').TESSERA_SERVER_NAME,
        settings(objects, 'tessera', 'tessera-settings').TESSERA_SERVER_NAME,
        'one server name in both namespaces',
      );
      for (const workload of workloads(objects))
        for (const { image } of workload.spec.template.spec.containers)
          assert.match(image, /:[\w.-]+$/, `${describeObject(workload)}: ${image} has a pinned tag`);
    });
    assert.notEqual(
      settings(dev, 'tessera', 'tessera-settings').TESSERA_LOG_LEVEL,
      settings(production, 'tessera', 'tessera-settings').TESSERA_LOG_LEVEL,
    );
  });

  describe('make-secrets.sh', () => {
    let dir: string;
    let secrets: K8sObject[];
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tessera-k8s-secrets-'));
      const yaml = execFileSync(
        join(K8S_DIR, 'make-secrets.sh'),
        [join(dir, 'made'), '--smtp-url', 'smtp://mail.example.org:587', '--database-url', 'postgres://t@db:5432/t'],
        { encoding: 'utf8', env: { ...process.env, TESSERA_KUBECTL_BIN: kubectlBinary() } },
      );
      secrets = parseYamlStream(yaml);
    });
    after(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

    it('makes every Secret the manifests read and do not hold (cert-manager makes the -tls ones), each with the keys read', () => {
      each((objects, overlay) => {
        for (const secret of secrets) validateObject(secret);
        const made = (namespace: string | undefined, name: string) =>
          [...secrets, ...ofKind(objects, 'Secret')].find(
            (s) => s.metadata.namespace === namespace && s.metadata.name === name,
          );
        const byCertManager = new Set(
          ofKind(objects, 'Certificate').map((c) => `${c.metadata.namespace}/${c.spec.secretName}`),
        );
        for (const workload of workloads(objects)) {
          if (workload.metadata.name === 'postgres') continue;
          for (const [name, keys] of secretsReadBy(workload)) {
            const where = `${overlay}: ${describeObject(workload)} reads Secret ${name}`;
            if (byCertManager.has(`${workload.metadata.namespace}/${name}`)) continue;
            const secret = made(workload.metadata.namespace, name);
            assert.ok(secret, where);
            for (const key of keys === 'all' ? [] : keys)
              assert.ok(Object.hasOwn(secret.data, key), `${where}, key ${key}`);
          }
        }
      });
    });

    it('gives NATS the authorization of every identity, and keeps the same secrets on a second run', async () => {
      const auth = find(secrets, 'Secret', 'tessera', 'nats-auth');
      const conf = Buffer.from(auth.data['auth.conf'], 'base64').toString();
      for (const identity of ['admin', ...SERVICES, 'analytics']) assert.match(conf, new RegExp(`# ${identity}\\b`));
      const signingKey = Buffer.from(
        find(secrets, 'Secret', 'tessera-signing', 'signing-key').data['signing.key'],
        'base64',
      );
      assert.match(signingKey.toString(), /^ed25519 0 [A-Za-z0-9+/]{43}\n$/);
      assert.equal(signingKey.toString(), await readFile(join(dir, 'made', 'signing.key'), 'utf8'));
      const again = parseYamlStream(
        execFileSync(
          join(K8S_DIR, 'make-secrets.sh'),
          [join(dir, 'made'), '--smtp-url', 'smtp://mail.example.org:587'],
          {
            encoding: 'utf8',
            env: { ...process.env, TESSERA_KUBECTL_BIN: kubectlBinary() },
          },
        ),
      );
      for (const secret of again)
        assert.deepEqual(secret.data, find(secrets, 'Secret', secret.metadata.namespace, secret.metadata.name).data);
    });
  });

  it('the NATS chart values: a 3-node JetStream cluster that fsyncs every write, TLS from nats-tls, the identities from nats-auth', async () => {
    const values = parse(await readFile(join(K8S_DIR, 'nats', 'values.yaml'), 'utf8'));
    assert.equal(values.config.jetstream.enabled, true);
    assert.equal(values.config.jetstream.fileStore.enabled, true);
    assert.equal(values.config.jetstream.merge.sync_interval, 'always');
    assert.equal(values.config.cluster.enabled, true);
    assert.equal(values.config.cluster.replicas, 3);
    assert.equal(values.config.nats.tls.enabled, true);
    assert.equal(values.config.nats.tls.secretName, 'nats-tls');
    assert.equal(values.config.monitor.enabled, true);
    assert.equal(values.config.merge.$include, '../nats-auth/auth.conf');
    assert.ok(
      values.podTemplate.patch.some(
        (op: { value: { secret?: { secretName: string } } }) => op.value.secret?.secretName === 'nats-auth',
      ),
    );
    assert.match(values.container.image.tag, /^2\.10\.\d+/, 'NATS 2.10, the version Tessera targets');
    const production = rendered.production as K8sObject[];
    const certificate = find(production, 'Certificate', 'tessera', 'nats-tls');
    const natsUrl = new URL(find(production, 'ConfigMap', 'tessera', 'tessera-settings').data.TESSERA_NATS_URL);
    assert.equal(natsUrl.protocol, 'tls:');
    assert.ok(certificate.spec.dnsNames.includes(natsUrl.hostname));
    const monitors = environmentOf(
      production,
      find(production, 'Job', 'tessera', 'tessera-provision'),
    ).TESSERA_NATS_MONITOR_URLS;
    assert.deepEqual(
      monitors?.split(','),
      [0, 1, 2].map((i) => `http://nats-${i}.nats-headless.tessera.svc:8222`),
      'every server of the cluster is checked',
    );
  });
});
