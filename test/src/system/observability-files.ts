import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from './repo-root.js';

export const OBSERVABILITY_DIR = join(REPO_ROOT, 'deploy/observability');
export const DASHBOARD_FILE = join(OBSERVABILITY_DIR, 'grafana/tessera-dashboard.json');
export const ALERTS_FILE = join(OBSERVABILITY_DIR, 'prometheus/alerts.yml');
export const PROMETHEUS_FILE = join(OBSERVABILITY_DIR, 'prometheus/prometheus.yml');

export type AlertRule = { alert: string; expr: string; for?: string; labels?: Record<string, string> };
type DashboardPanel = { id: number; title: string; targets?: { refId: string; expr: string }[] };

export const readDashboard = () =>
  JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { uid: string; panels: DashboardPanel[] };

export function readAlertRules(): AlertRule[] {
  const file = parseYaml(readFileSync(ALERTS_FILE, 'utf8')) as { groups: { name: string; rules: AlertRule[] }[] };
  return file.groups.flatMap((group) => group.rules);
}

/** Every PromQL expression the dashboard's panels and the alert rules hold, named by where it stands. */
export function observabilityExpressions(): { where: string; expr: string }[] {
  return [
    ...readDashboard().panels.flatMap((panel) =>
      (panel.targets ?? []).map((target) => ({ where: `panel "${panel.title}" ${target.refId}`, expr: target.expr })),
    ),
    ...readAlertRules().map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr })),
  ];
}

/**
 * An expression parsed by Prometheus' own PromQL grammar (@prometheus-io/lezer-promql): the
 * syntax errors it found (as text around them) and the metric names its selectors name.
 */
export function parsePromql(expr: string): { errors: string[]; metrics: string[] } {
  const errors: string[] = [];
  const metrics = new Set<string>();
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(`at ${node.from}: ${JSON.stringify(expr.slice(node.from, node.from + 20))}`);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector')
        metrics.add(expr.slice(node.from, node.to));
    },
  });
  return { errors, metrics: [...metrics] };
}

const HISTOGRAM_SERIES = /_(bucket|sum|count)$/;

/** Whether a series name is of one of `families`: a histogram's `_bucket`, `_sum` and `_count` are its family's. */
export function isOfFamily(metric: string, families: ReadonlySet<string>): boolean {
  return families.has(metric) || families.has(metric.replace(HISTOGRAM_SERIES, ''));
}
