import { type DataKeys, SealedValueInvalid } from '@tessera/event-store';
import { parseServerName } from '@tessera/federation-client';
import { OnbindCall, type OnbindRequested } from '@tessera/proto/tessera/events/v1/invite';
import { parseJsonObject } from '@tessera/service-kit';
import { INVITE_SEALED_FIELDS, onbindDataKey } from '@tessera/spec-params';

/** The call to make, in plaintext: kept in memory for one attempt, never logged but `destination`. */
export type OpenedCall =
  | { status: 'open'; destination: string; bodyJson: string }
  /** It can never be made, whatever is tried later; `reason` names no address, user or token. */
  | { status: 'unusable'; reason: string };

/**
 * Opens OnbindRequested.call (OnbindCall, protobuf-encoded, sealed with `onbind.<onbind_id>`).
 * Throws only what a later try may cure (NATS unreachable).
 */
export async function openOnbindCall(dataKeys: DataKeys, requested: OnbindRequested): Promise<OpenedCall> {
  if (requested.call === undefined) return { status: 'unusable', reason: 'the request has no sealed call' };
  let bytes: Uint8Array | null;
  try {
    bytes = await dataKeys.openField(onbindDataKey(requested.onbindId), INVITE_SEALED_FIELDS.call, requested.call);
  } catch (err) {
    if (err instanceof SealedValueInvalid) return { status: 'unusable', reason: 'the sealed call does not open' };
    throw err;
  }
  // Its data key was erased: the call was finished (delivered or abandoned) before, or shredded.
  if (bytes === null) return { status: 'unusable', reason: 'erased' };
  let call: OnbindCall;
  try {
    call = OnbindCall.decode(bytes);
  } catch {
    return { status: 'unusable', reason: 'the sealed call is not an OnbindCall' };
  }
  try {
    parseServerName(call.destination);
  } catch {
    return { status: 'unusable', reason: 'the destination is not a server name' };
  }
  try {
    parseJsonObject(call.bodyJson, 'the body');
  } catch {
    return { status: 'unusable', reason: 'the body is not a JSON object' };
  }
  return { status: 'open', destination: call.destination, bodyJson: call.bodyJson };
}
