// Checks each workspace package's dependency lists against what its product build (dist/, the code
// an image ships) really imports: every package it imports is in `dependencies`, and everything in
// `dependencies` is imported. Test-only and type-only packages belong in devDependencies, which a
// production install leaves out. Reads the compiled JavaScript, not the TypeScript, so type imports
// (erased) never count and side-effect imports do. Run after `pnpm build`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dirs = ['packages', 'services', 'deploy', 'examples'].flatMap((group) =>
  readdirSync(join(root, group)).map((name) => join(root, group, name)),
);

// Static imports and re-exports (`import … from 'x'`, `import 'x'`, `export … from 'x'`) and import('x').
const IMPORT =
  /(?:^|[;\n])\s*(?:import|export)\s+(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
const BUILTINS = new Set(builtinModules);

/** `@scope/name/deep` → `@scope/name`; `name/deep` → `name`; relative paths and builtins → null. */
function packageOf(specifier) {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return null;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return BUILTINS.has(name) ? null : name;
}

function jsFiles(dir) {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.js'))
    .map((file) => join(dir, file));
}

const problems = [];
for (const dir of dirs) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  } catch {
    continue;
  }
  const where = relative(root, dir);
  const dist = join(dir, 'dist');
  try {
    if (!statSync(dist).isDirectory()) throw new Error();
  } catch {
    problems.push(`${where}: no dist/ (run pnpm build first)`);
    continue;
  }
  const declared = new Set(Object.keys(manifest.dependencies ?? {}));
  const imported = new Map(); // package → a file importing it
  for (const file of jsFiles(dist)) {
    for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const name = packageOf(match[1] ?? match[2]);
      if (name !== null && name !== manifest.name && !imported.has(name)) imported.set(name, relative(root, file));
    }
  }
  for (const [name, file] of imported)
    if (!declared.has(name)) problems.push(`${where}: ${file} imports ${name}, which is not in its dependencies`);
  for (const name of declared)
    if (!imported.has(name)) problems.push(`${where}: depends on ${name}, which its product code never imports`);
}

if (problems.length > 0) {
  process.stderr.write(`dependency lists do not match the product code:\n  ${problems.join('\n  ')}\n`);
  process.exit(1);
}
process.stdout.write(`dependency lists match the product code of ${dirs.length} packages\n`);
