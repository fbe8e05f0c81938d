import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from './load-config.js';

function yamlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tessera-config-')), 'tessera.yaml');
  writeFileSync(file, text);
  return file;
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the configuration to be refused');
}

describe('loadConfig', () => {
  it('gives the documented defaults when nothing is set', () => {
    const config = loadConfig({ PATH: '/usr/bin' });
    assert.equal(config.TESSERA_SERVER_NAME, 'localhost');
    assert.equal(config.TESSERA_PUBLIC_BASE_URL, 'http://127.0.0.1:8090');
    assert.equal(config.TESSERA_HTTP_HOST, '127.0.0.1');
    assert.equal(config.TESSERA_HTTP_PORT, 8090);
    assert.equal(config.TESSERA_DATA_DIR, './.tessera');
    assert.equal(config.TESSERA_NATS_URL, undefined);
    assert.equal(config.TESSERA_EMAIL_FROM, 'Tessera <noreply@localhost>');
    assert.deepEqual(config.TESSERA_OUTBOUND_ALLOW, []);
    assert.equal(config.TESSERA_OUTBOUND_VERIFY_TLS, true);
    assert.equal(config.TESSERA_RATE_LIMITS, 'on');
  });

  it('reads the YAML file and lets the environment override it', () => {
    const file = yamlFile('TESSERA_HTTP_PORT: 9000\nTESSERA_SERVER_NAME: id.example.org\n');
    const config = loadConfig({ TESSERA_CONFIG: file, TESSERA_HTTP_PORT: '9100' });
    assert.equal(config.TESSERA_HTTP_PORT, 9100);
    assert.equal(config.TESSERA_SERVER_NAME, 'id.example.org');
  });

  it('treats an empty variable as unset', () => {
    assert.equal(loadConfig({ TESSERA_HTTP_PORT: '' }).TESSERA_HTTP_PORT, 8090);
  });

  it('names the key of a wrong value', () => {
    const err = errorOf(() => loadConfig({ TESSERA_HTTP_PORT: 'eighty' }));
    assert.match(err.message, /TESSERA_HTTP_PORT: /);
  });

  it('takes a gRPC address as host:port, a list of replicas or a dns:/// name, and refuses anything else', () => {
    for (const target of ['signing:50051', '127.0.0.1:1,127.0.0.1:2', '[::1]:1,[::1]:2', 'dns:///signing.ns.svc:50051'])
      assert.equal(loadConfig({ TESSERA_SIGNING_ADDR: target }).TESSERA_SIGNING_ADDR, target);
    for (const target of ['signing', 'a.example:1,b.example:2', '127.0.0.1:1,[::1]:2', 'dns://signing:1', 'x:1,'])
      assert.match(errorOf(() => loadConfig({ TESSERA_SIGNING_ADDR: target })).message, /TESSERA_SIGNING_ADDR: /);
  });

  it("takes the local runner's NATS node count and replica counts, refusing a count it cannot cluster", () => {
    const config = loadConfig({ TESSERA_LOCAL_NATS_NODES: '3', TESSERA_LOCAL_REPLICAS: 'gateway=2,directory=2' });
    assert.equal(config.TESSERA_LOCAL_NATS_NODES, 3);
    assert.equal(config.TESSERA_LOCAL_REPLICAS, 'gateway=2,directory=2');
    assert.match(errorOf(() => loadConfig({ TESSERA_LOCAL_NATS_NODES: '2' })).message, /TESSERA_LOCAL_NATS_NODES: /);
    assert.match(
      errorOf(() => loadConfig({ TESSERA_LOCAL_REPLICAS: 'gateway:2' })).message,
      /TESSERA_LOCAL_REPLICAS: /,
    );
  });

  it('refuses a boolean it cannot read instead of taking it as false', () => {
    const err = errorOf(() => loadConfig({ TESSERA_OUTBOUND_VERIFY_TLS: 'ture' }));
    assert.match(err.message, /TESSERA_OUTBOUND_VERIFY_TLS: /);
    assert.equal(loadConfig({ TESSERA_OUTBOUND_VERIFY_TLS: 'false' }).TESSERA_OUTBOUND_VERIFY_TLS, false);
  });

  it('refuses a misspelt setting, naming it', () => {
    const err = errorOf(() => loadConfig({ TESSERA_HTTP_PROT: '8090' }));
    assert.match(err.message, /TESSERA_HTTP_PROT: unknown setting/);
  });

  it('refuses a misspelt setting in the file too', () => {
    const err = errorOf(() => loadConfig({ TESSERA_CONFIG: yamlFile('TESSERA_SEVRER_NAME: x\n') }));
    assert.match(err.message, /TESSERA_SEVRER_NAME: unknown setting/);
  });

  it('ignores variables that are not TESSERA_* settings', () => {
    assert.doesNotThrow(() => loadConfig({ HOME: '/root', NODE_ENV: 'production' }));
  });

  it('parses lists of CIDRs and refuses a bad one', () => {
    assert.deepEqual(loadConfig({ TESSERA_OUTBOUND_ALLOW: '127.0.0.0/8, ::1/128' }).TESSERA_OUTBOUND_ALLOW, [
      '127.0.0.0/8',
      '::1/128',
    ]);
    assert.match(errorOf(() => loadConfig({ TESSERA_OUTBOUND_ALLOW: '127.0.0.1' })).message, /TESSERA_OUTBOUND_ALLOW/);
  });

  it('accepts a YAML list where a comma-separated list is expected', () => {
    const file = yamlFile('TESSERA_SIGNING_ALLOWED_CLIENTS:\n  - gateway\n  - invite\n');
    assert.deepEqual(loadConfig({ TESSERA_CONFIG: file }).TESSERA_SIGNING_ALLOWED_CLIENTS, ['gateway', 'invite']);
  });

  it('explains an unreadable or malformed file', () => {
    assert.match(errorOf(() => loadConfig({ TESSERA_CONFIG: '/nonexistent/tessera.yaml' })).message, /TESSERA_CONFIG/);
    assert.match(errorOf(() => loadConfig({ TESSERA_CONFIG: yamlFile('- a\n- b\n') })).message, /TESSERA_CONFIG/);
  });

  it('refuses a public base URL that is not http(s) and drops a trailing slash', () => {
    assert.match(errorOf(() => loadConfig({ TESSERA_PUBLIC_BASE_URL: 'ftp://x' })).message, /TESSERA_PUBLIC_BASE_URL/);
    assert.equal(
      loadConfig({ TESSERA_PUBLIC_BASE_URL: 'https://id.example.org/' }).TESSERA_PUBLIC_BASE_URL,
      'https://id.example.org',
    );
  });

  it('reads rate limits as a count per window and names a malformed one', () => {
    assert.deepEqual(loadConfig({ TESSERA_RATE_LIMIT_IP: '3/60s' }).TESSERA_RATE_LIMIT_IP, {
      count: 3,
      windowMs: 60_000,
    });
    assert.match(errorOf(() => loadConfig({ TESSERA_RATE_LIMIT_IP: 'lots' })).message, /TESSERA_RATE_LIMIT_IP: /);
    assert.match(errorOf(() => loadConfig({ TESSERA_RATE_LIMIT_USER: '0/60s' })).message, /TESSERA_RATE_LIMIT_USER: /);
  });

  it('takes an OTLP endpoint as an http(s) URL, unset by default (no tracing), and names a bad one', () => {
    assert.equal(loadConfig({}).TESSERA_OTLP_ENDPOINT, undefined);
    assert.equal(
      loadConfig({ TESSERA_OTLP_ENDPOINT: 'http://collector:4318/' }).TESSERA_OTLP_ENDPOINT,
      'http://collector:4318',
    );
    assert.match(
      errorOf(() => loadConfig({ TESSERA_OTLP_ENDPOINT: 'collector:4318' })).message,
      /TESSERA_OTLP_ENDPOINT/,
    );
  });

  it('reads the standard OTEL_EXPORTER_OTLP_ENDPOINT when TESSERA_OTLP_ENDPOINT is unset, by the same rule', () => {
    assert.equal(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).TESSERA_OTLP_ENDPOINT,
      'http://collector:4318',
    );
    assert.equal(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', TESSERA_OTLP_ENDPOINT: 'http://b:4318' })
        .TESSERA_OTLP_ENDPOINT,
      'http://b:4318',
    );
    assert.match(
      errorOf(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector' })).message,
      /TESSERA_OTLP_ENDPOINT/,
    );
  });

  it('returns a frozen object', () => {
    assert.ok(Object.isFrozen(loadConfig({})));
  });
});
