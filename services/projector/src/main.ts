import { databaseSettingsOf } from '@tessera/db';
import { runService } from '@tessera/service-kit';
import { startProjector } from './projector.js';

runService('projector', {
  nats: true,
  database: { migrate: true },
  start: async ({ config, log, nc, db, metrics, addReadiness }) => {
    const projector = startProjector({ nc, db, database: databaseSettingsOf(config), log, registry: metrics.registry });
    addReadiness(projector.readiness);
    return { name: 'projector', run: () => projector.stop() };
  },
});
