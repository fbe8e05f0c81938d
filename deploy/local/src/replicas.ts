import { ConfigError } from '@tessera/config';
import { SERVICES, type ServiceName } from './services.js';

/** How many processes of each service the runner starts: TESSERA_LOCAL_REPLICAS, one for the others. */
export function replicaCounts(setting: string | undefined): (name: ServiceName) => number {
  const counts = new Map<string, number>();
  for (const entry of setting ? setting.split(',') : []) {
    const [name = '', count = ''] = entry.split('=');
    if (!SERVICES.some((service) => service.name === name))
      throw new ConfigError(
        `TESSERA_LOCAL_REPLICAS: no service is called ${JSON.stringify(name)} (${SERVICES.map((s) => s.name).join(', ')})`,
      );
    if (Number(count) < 1) throw new ConfigError(`TESSERA_LOCAL_REPLICAS: ${name} needs at least 1 replica`);
    counts.set(name, Number(count));
  }
  return (name) => counts.get(name) ?? 1;
}

/** The first replica keeps the service's name (logs, state file, CLI); the others are <name>-2, <name>-3… */
export function replicaName(service: ServiceName, index: number): string {
  return index === 0 ? service : `${service}-${index + 1}`;
}
