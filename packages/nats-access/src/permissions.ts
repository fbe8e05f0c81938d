import {
  bucketStreamOf,
  DATA_KEY_BUCKET,
  inboxPrefixOf,
  kvKeyOf,
  type StreamName,
  SUBJECT_PREFIX,
  streamOf,
} from '@tessera/event-store';
import { type Grants, grantsOf, type ServiceIdentity } from './identities.js';

/** What nats-server lets one identity publish and subscribe to; everything else is denied. */
export type NatsPermissions = { publish: string[]; subscribe: string[] };

const API = '$JS.API';
const DATA_KEY_STREAM = bucketStreamOf(DATA_KEY_BUCKET);

/**
 * The subjects of an identity's grants. Every JetStream API call is a publish to `$JS.API.…`, so
 * publish permissions also say which API calls an identity may make: none of them creates, updates,
 * purges or deletes a stream or bucket (provisioning, as admin, does that).
 */
export function permissionsOf(identity: ServiceIdentity): NatsPermissions {
  const grants: Grants = grantsOf(identity);
  const publish = new Set<string>([`${API}.INFO`]); // every client asks whether JetStream is there
  const subscribe = new Set<string>([`${inboxPrefixOf(identity)}.>`]); // replies to its own requests only

  for (const type of grants.appends) publish.add(`${SUBJECT_PREFIX}.${type}.>`);
  for (const stream of grants.reads) for (const subject of readStream(stream)) publish.add(subject);
  for (const type of grants.watches) subscribe.add(`${SUBJECT_PREFIX}.${type}.>`);
  for (const type of grants.follows) {
    subscribe.add(`${SUBJECT_PREFIX}.${type}.>`);
    publish.add(`${API}.STREAM.INFO.${streamOf(type)}`); // lists the type's subjects (subjects_filter)
    publish.add(`${API}.DIRECT.GET.${streamOf(type)}.${SUBJECT_PREFIX}.${type}.>`); // last message by subject
  }
  for (const { stream, durable } of grants.consumers) {
    publish.add(`${API}.STREAM.INFO.${stream}`);
    // Creating a consumer names it (and its filter) in the subject, so no other name can be used.
    publish.add(`${API}.CONSUMER.CREATE.${stream}.${durable}`);
    publish.add(`${API}.CONSUMER.CREATE.${stream}.${durable}.>`);
    publish.add(`${API}.CONSUMER.DURABLE.CREATE.${stream}.${durable}`);
    publish.add(`${API}.CONSUMER.INFO.${stream}.${durable}`);
    // Deleted and created again to start it at a sequence (a projector positions its consumer after its checkpoint).
    publish.add(`${API}.CONSUMER.DELETE.${stream}.${durable}`);
    publish.add(`${API}.CONSUMER.MSG.NEXT.${stream}.${durable}`);
    publish.add(`$JS.ACK.${stream}.${durable}.>`); // acks, naks and in-progress signals of its messages
  }

  const { open, seal, erase, follow = [] } = grants.dataKeys;
  if (open.length + seal.length + erase.length > 0) publish.add(`${API}.STREAM.INFO.${DATA_KEY_STREAM}`);
  for (const { type, consumer } of follow) {
    if (!open.includes(type)) throw new Error(`${identity} follows ${type} keys it may not open`);
    // The filter is in the create subject: the consumer can only ever deliver keys of `type`.
    publish.add(`${API}.CONSUMER.CREATE.${DATA_KEY_STREAM}.${consumer}.${dataKeySubjects(type)}`);
    publish.add(`${API}.CONSUMER.INFO.${DATA_KEY_STREAM}.${consumer}`);
    publish.add(`${API}.CONSUMER.MSG.NEXT.${DATA_KEY_STREAM}.${consumer}`);
    publish.add(`${API}.CONSUMER.DELETE.${DATA_KEY_STREAM}.${consumer}`); // deleted and made again to start elsewhere
  }
  for (const type of new Set([...open, ...seal, ...erase])) publish.add(dataKeyRead(type));
  // Create (seal), purge (erase); either also overwrites a key of those types.
  for (const type of new Set([...seal, ...erase])) publish.add(dataKeySubjects(type));
  if (erase.length > 0) publish.add(`${API}.STREAM.MSG.DELETE.${DATA_KEY_STREAM}`); // overwrites a key on disk

  for (const bucket of grants.buckets) {
    publish.add(`${API}.STREAM.INFO.${bucketStreamOf(bucket)}`);
    publish.add(`${API}.DIRECT.GET.${bucketStreamOf(bucket)}.$KV.${bucket}.>`);
    publish.add(`$KV.${bucket}.>`);
  }
  return { publish: [...publish], subscribe: [...subscribe] };
}

/** Stream info, and direct gets by sequence or by subject: reads that change nothing. */
function readStream(stream: StreamName): string[] {
  return [`${API}.STREAM.INFO.${stream}`, `${API}.DIRECT.GET.${stream}`, `${API}.DIRECT.GET.${stream}.>`];
}

// A key's subject is `$KV.tessera_data_keys.<type>.<escaped id>`: the type is its own token, so a
// wildcard after it confines an identity to the aggregate types it serves. Reads name the subject
// in the request subject (the client's "last by subject" direct get), never in the body.
function dataKeyPrefix(type: string): string {
  const sample = kvKeyOf(`${type}.x`); // `<type>.x`: kvKeyOf owns the layout of keys
  return `$KV.${DATA_KEY_BUCKET}.${sample.slice(0, sample.lastIndexOf('.'))}`;
}
const dataKeyRead = (type: string) => `${API}.DIRECT.GET.${DATA_KEY_STREAM}.${dataKeyPrefix(type)}.>`;
const dataKeySubjects = (type: string) => `${dataKeyPrefix(type)}.>`;
