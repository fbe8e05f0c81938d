import { ConfigError } from '@tessera/config';

/** The runner's command-line flags, each the setting it stands for (a flag wins over the environment). */
const FLAGS: Readonly<Record<string, string>> = {
  '--nats-cluster': 'TESSERA_LOCAL_NATS_NODES',
  '--replicas': 'TESSERA_LOCAL_REPLICAS',
};

/** `--nats-cluster 3 --replicas gateway=2` (or `--flag=value`) as settings; anything else is refused. */
export function settingsFromFlags(args: readonly string[]): Record<string, string> {
  const settings: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const at = arg.indexOf('=');
    const flag = at === -1 ? arg : arg.slice(0, at);
    const key = FLAGS[flag];
    if (key === undefined)
      throw new ConfigError(`unknown argument ${JSON.stringify(arg)} (expected ${Object.keys(FLAGS).join(', ')})`);
    const value = at === -1 ? args[++i] : arg.slice(at + 1);
    if (value === undefined || value === '') throw new ConfigError(`${flag}: expected a value`);
    settings[key] = value;
  }
  return settings;
}
