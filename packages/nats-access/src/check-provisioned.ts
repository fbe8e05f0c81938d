import { bucketStreamOf, DATA_KEY_BUCKET, streamConfig, streamOf } from '@tessera/event-store';
import { ErrorCode, type JetStreamManager, NatsError } from 'nats';
import { grantsOf, type ServiceIdentity } from './identities.js';

/** What an identity needs in JetStream: the streams and buckets its grants name. */
export function requirementsOf(identity: ServiceIdentity): { streams: string[]; buckets: string[] } {
  const grants = grantsOf(identity);
  const streams = new Set<string>([
    ...grants.appends.map(streamOf),
    ...grants.reads,
    ...grants.follows.map(streamOf),
    ...grants.consumers.map((consumer) => consumer.stream),
  ]);
  const { open, seal, erase } = grants.dataKeys;
  const buckets = new Set<string>(grants.buckets);
  if (open.length + seal.length + erase.length > 0) buckets.add(DATA_KEY_BUCKET);
  return { streams: [...streams], buckets: [...buckets] };
}

/** Streams or buckets are missing: the deployment was not provisioned (or not with this version). */
export class NotProvisioned extends Error {
  override readonly name = 'NotProvisioned';
}

/**
 * Checks, never creates, that the streams and buckets this identity needs exist. Throws
 * NotProvisioned naming everything missing, or a plain Error when NATS refuses to say (the
 * credentials are another identity's, or the server's permissions are older than this table).
 */
export async function requireProvisioned(jsm: JetStreamManager, identity: ServiceIdentity): Promise<void> {
  const { streams, buckets } = requirementsOf(identity);
  const wanted = [
    ...streams.map((stream) => ({ what: `stream ${stream}`, stream })),
    ...buckets.map((bucket) => ({ what: `bucket ${bucket}`, stream: bucketStreamOf(bucket) })),
  ];
  const missing: string[] = [];
  for (const { what, stream } of wanted) {
    try {
      if ((await streamConfig(jsm, stream)) === null) missing.push(what);
    } catch (err) {
      if (err instanceof NatsError && err.code === ErrorCode.PermissionsViolation)
        throw new Error(
          `NATS does not let the ${identity} identity look at ${what}: are the credentials ` +
            `(TESSERA_NATS_CREDENTIALS_FILE) the ${identity} identity's, with the permissions of this version?`,
        );
      throw err;
    }
  }
  if (missing.length > 0)
    throw new NotProvisioned(
      `NATS has no ${missing.join(', ')}: provision it first (\`tessera provision\` with the admin identity; ` +
        'the local runner does this itself)',
    );
}
