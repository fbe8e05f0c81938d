import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import {
  DASHBOARD_FILE,
  observabilityExpressions,
  PROMETHEUS_FILE,
  parsePromql,
  readAlertRules,
  readDashboard,
} from './system/observability-files.js';
import { REPO_ROOT } from './system/repo-root.js';

// The files of deploy/observability, checked without a running system (the metric names they use
// are checked against the services' endpoints in observability.e2e.test.ts).
const TSC = join(REPO_ROOT, 'test/node_modules/.bin/tsc');
const CHECK_DIR = join(REPO_ROOT, 'test/dist-test/dashboard-check');

/**
 * Type-checks a dashboard as an object literal of @grafana/schema's `Dashboard` (the type Grafana
 * generates from its dashboard schema): unknown fields, wrong types and values outside an
 * enumeration are errors. Answers the compiler's complaints; empty when it passes.
 */
function dashboardSchemaErrors(dashboard: unknown): string {
  mkdirSync(CHECK_DIR, { recursive: true });
  writeFileSync(
    join(CHECK_DIR, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'NodeNext', moduleResolution: 'NodeNext', types: [] },
      files: ['dashboard.ts'],
    }),
  );
  writeFileSync(
    join(CHECK_DIR, 'dashboard.ts'),
    `import type { Dashboard } from '@grafana/schema';\nexport const dashboard: Dashboard = ${JSON.stringify(dashboard, null, 2)};\n`,
  );
  const run = spawnSync(TSC, ['-p', join(CHECK_DIR, 'tsconfig.json')], { encoding: 'utf8' });
  return run.status === 0 ? '' : `${run.stdout}${run.stderr}`.trim() || `tsc exited ${run.status}`;
}

describe('the Grafana dashboard', () => {
  it("validates against Grafana's dashboard schema (@grafana/schema)", () => {
    assert.equal(dashboardSchemaErrors(JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8'))), '');
  });

  it('the schema check refuses a dashboard with a misspelt field or a value of the wrong type', () => {
    const dashboard = readDashboard() as unknown as { panels: Record<string, unknown>[] };
    const misspelt = structuredClone(dashboard);
    misspelt.panels[0] = { ...misspelt.panels[0], fieldConfg: {} };
    assert.match(dashboardSchemaErrors(misspelt), /fieldConfg/);
    const wrongType = structuredClone(dashboard);
    wrongType.panels[0] = { ...wrongType.panels[0], gridPos: { h: 8, w: 'wide', x: 0, y: 0 } };
    assert.match(dashboardSchemaErrors(wrongType), /not assignable/);
  });

  it('has distinct panel ids, and queries that parse as PromQL', () => {
    const { panels } = readDashboard();
    assert.equal(new Set(panels.map((panel) => panel.id)).size, panels.length);
    for (const panel of panels) assert.ok((panel.targets ?? []).length > 0, `panel "${panel.title}" has a query`);
    for (const { where, expr } of observabilityExpressions().filter((one) => one.where.startsWith('panel')))
      assert.deepEqual(parsePromql(expr).errors, [], `${where}: ${expr}`);
  });
});

describe('the Prometheus alert rules and scrape configuration', () => {
  it('every alert rule parses: a name, a PromQL expression without errors, a duration, a severity', () => {
    const rules = readAlertRules();
    assert.ok(rules.length > 0);
    for (const rule of rules) {
      assert.match(rule.alert, /^Tessera[A-Za-z]+$/);
      assert.deepEqual(parsePromql(rule.expr).errors, [], `${rule.alert}: ${rule.expr}`);
      if (rule.for !== undefined) assert.match(rule.for, /^\d+[smhd]$/, `${rule.alert}: for`);
      assert.ok(['page', 'ticket'].includes(rule.labels?.severity ?? ''), `${rule.alert}: severity`);
    }
  });

  it('the PromQL check finds a syntax error', () => {
    assert.notDeepEqual(parsePromql('sum(rate(tessera_http_requests_total[5m])').errors, []);
  });

  it('alert on what loses users: consumer lag, onbind backlog age, send failures, signing unavailable', () => {
    const metricsAlerted = new Set(readAlertRules().flatMap((rule) => parsePromql(rule.expr).metrics));
    for (const metric of [
      'tessera_consumer_lag_messages',
      'tessera_invite_oldest_pending_onbind_age_seconds',
      'tessera_notifier_messages_failed_total',
    ])
      assert.ok(metricsAlerted.has(metric), metric);
    const signing = readAlertRules().find((rule) => rule.alert === 'TesseraSigningUnavailable');
    // Every replica down, not one of several.
    assert.match(signing?.expr ?? '', /sum\(up\{job="tessera-signing"\}\) == 0/);
  });

  it('scrapes every service as tessera-<service> and loads the alert rules', () => {
    const config = parseYaml(readFileSync(PROMETHEUS_FILE, 'utf8')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    assert.deepEqual(config.rule_files, ['alerts.yml']);
    const jobs = config.scrape_configs.map((job) => job.job_name).sort();
    assert.deepEqual(
      jobs,
      ['directory', 'gateway', 'invite', 'notifier', 'projector', 'session', 'signing'].map((s) => `tessera-${s}`),
    );
    for (const job of config.scrape_configs) assert.ok(job.static_configs[0]?.targets.length);
  });
});
