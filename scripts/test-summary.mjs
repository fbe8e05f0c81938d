// Adds up the TAP results that every package's test run leaves in test-results.tap and prints
// one closing line, "N passed, N failed", so a run of many packages ends with a single verdict.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const packages = ['packages', 'services', 'deploy', 'examples']
  .flatMap((dir) => readdirSync(join(root, dir)).map((name) => join(root, dir, name)))
  // Folders of manifests and configuration (deploy/k8s, deploy/observability) are no packages.
  .filter((dir) => existsSync(join(dir, 'package.json')));
packages.push(join(root, 'proto'), join(root, 'test'));

const totals = { pass: 0, fail: 0, skipped: 0, cancelled: 0, todo: 0 };
const missing = [];
for (const dir of packages) {
  const file = join(dir, 'test-results.tap');
  let text;
  try {
    if (!statSync(join(dir, 'package.json')).isFile()) continue;
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (!manifest.scripts?.test) continue;
    text = readFileSync(file, 'utf8');
  } catch {
    missing.push(dir.slice(root.length));
    continue;
  }
  // The closing counts are the last lines of a TAP file: "# pass 12".
  for (const key of Object.keys(totals)) {
    const match = [...text.matchAll(new RegExp(`^# ${key} (\\d+)$`, 'gm'))].at(-1);
    if (match) totals[key] += Number(match[1]);
  }
}
if (missing.length > 0) console.log(`no test results from: ${missing.join(', ')}`);
const extra = totals.skipped + totals.todo > 0 ? `, ${totals.skipped + totals.todo} skipped` : '';
const failed = totals.fail + totals.cancelled + missing.length;
console.log(`${totals.pass} passed, ${failed} failed${extra}`);
process.exit(failed > 0 || totals.pass === 0 ? 1 : 0);
