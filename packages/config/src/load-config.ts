import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { type Config, ConfigSchema } from './schema.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const PREFIX = 'TESSERA_';

/** The YAML file named by TESSERA_CONFIG, then TESSERA_* variables over it; all values as strings, '' = unset. */
export function readSources(env: NodeJS.ProcessEnv): Record<string, string> {
  const merged: Record<string, string> = {};
  const file = env.TESSERA_CONFIG;
  if (file) {
    for (const [key, value] of Object.entries(readYamlFile(file))) {
      if (value !== null && value !== undefined && value !== '') merged[key] = yamlValueToString(key, value, file);
    }
  }
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith(PREFIX) && value !== undefined && value !== '') merged[key] = value;
  }
  // OpenTelemetry's standard variable stands in for ours, checked by the same rule.
  if (merged.TESSERA_OTLP_ENDPOINT === undefined && env.OTEL_EXPORTER_OTLP_ENDPOINT)
    merged.TESSERA_OTLP_ENDPOINT = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return merged;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = ConfigSchema.safeParse(readSources(env));
  if (result.success) return Object.freeze(result.data);
  throw new ConfigError(`invalid configuration:\n${result.error.issues.map(describeIssue).join('\n')}`);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `  ${key}: unknown setting`).join('\n');
  const key = issue.path.length > 0 ? String(issue.path[0]) : '(config)';
  return `  ${key}: ${issue.message}`;
}

function readYamlFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`TESSERA_CONFIG: cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`TESSERA_CONFIG: ${file} is not valid YAML: ${(err as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ConfigError(`TESSERA_CONFIG: ${file} must be a mapping of TESSERA_* names to values`);
  return parsed as Record<string, unknown>;
}

function yamlValueToString(key: string, value: unknown, file: string): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value.join(',');
  throw new ConfigError(`${key}: expected a string, number or boolean in ${file}`);
}
