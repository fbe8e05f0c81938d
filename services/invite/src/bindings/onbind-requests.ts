import { canonicalJson } from '@tessera/canonical-json';
import type { ProjectionWait } from '@tessera/db';
import { TesseraError } from '@tessera/errors';
import {
  type DataKeys,
  type EventStore,
  handleCommand,
  loadState,
  type RetryLater,
  subjectOf,
} from '@tessera/event-store';
import { InviteSecrets, OnbindCall } from '@tessera/proto/tessera/events/v1/invite';
import type { Logger } from '@tessera/service-kit';
import { INVITE_SEALED_FIELDS, inviteDataKey, onbindDataKey } from '@tessera/spec-params';
import { isCarriable } from '../domain/invite.js';
import { storedInvites } from '../events/invite-events.js';
import { storedOnbinds } from '../events/onbind-events.js';
import { inviteSubject } from '../invites.js';
import type { ReadModel } from '../read-model.js';
import { serverNameOf } from '../server-name.js';
import type { Signing } from '../signing.js';
import { type BoundAssociation, type CarriedInvite, inviteProofs, onbindBody } from './onbind-body.js';

/** `tessera.onbind.<onbindId>` */
export const onbindSubject = (onbindId: string) => subjectOf('onbind', onbindId);

export interface OnbindRequestsDeps {
  store: EventStore;
  dataKeys: DataKeys;
  signing: Signing;
  readModel: ReadModel;
  projected: ProjectionWait;
  /** How long one delivery waits for the projector before handing the message back. */
  projectionWaitMs: number;
  /** TESSERA_ONBIND_MAX_AGE_MS */
  maxAgeMs: number;
  now: () => number;
  log: Logger;
}

/** What an AssociationBound says that onbind needs, and the stream sequence of its message. */
export type NewBinding = { addrKey: string; bindingId: string; seq: number };

/**
 * Reacts to a new binding: once the read model holds everything up to it, requests one onbind
 * call (id = the binding's id) carrying the address's pending invites, its body signed and sealed,
 * and then marks each of them claimed by it. The request comes first, so that an invite is never
 * claimed by a call that was not requested (a crash, or signing down, between the two would strand
 * it); a redelivery finds the call requested and marks whatever is not marked yet. Nothing is
 * requested when no invite is pending. Logs no address, token or user ID.
 */
export async function requestOnbind(deps: OnbindRequestsDeps, binding: NewBinding): Promise<RetryLater | undefined> {
  const { store, dataKeys, readModel, log, now } = deps;
  const { addrKey, bindingId } = binding;
  const onbindId = bindingId;
  if (!(await deps.projected.until(binding.seq, deps.projectionWaitMs))) {
    log.warn({ addrKey, seq: binding.seq }, 'projector behind the binding; onbind considered again later');
    return { retryInMs: deps.projectionWaitMs };
  }
  const onbind = (await loadState(store, onbindSubject(onbindId), storedOnbinds)).state;
  if (onbind.requested) {
    await claimAll(deps, onbindId, onbind.inviteIds);
    return undefined;
  }
  // A binding replaced or ended since (a replay of old events): its invites wait for the current one.
  const current = await readModel.currentAssociation(addrKey);
  if (current === null || current.bindingId !== bindingId) return undefined;
  const association = boundFieldsOf(current.associationJson);

  const at = new Date(now());
  const carried: CarriedInvite[] = [];
  for (const inviteId of await readModel.invitesForOnbind(addrKey, onbindId, now())) {
    // The aggregate decides, not the read model, which may lag behind a claim or a revocation.
    const { state } = await loadState(store, inviteSubject(inviteId), storedInvites);
    if (state.status === 'none' || !isCarriable(state, onbindId, at)) continue;
    const opened = await dataKeys.openField(inviteDataKey(inviteId), INVITE_SEALED_FIELDS.secrets, state.secrets);
    if (opened === null) continue; // revoked and erased meanwhile
    const secrets = InviteSecrets.decode(opened);
    carried.push({
      inviteId,
      address: secrets.normalisedAddress,
      roomId: secrets.roomId,
      sender: secrets.sender,
      token: secrets.token,
      keyId: state.longTermKeyId,
    });
  }
  if (carried.length === 0) return undefined;

  const proofs = await signProofs(deps.signing, association.mxid, carried);
  const unsigned = onbindBody(association, carried, proofs);
  const bodyJson = canonicalJson(JSON.parse(await deps.signing.signJson(JSON.stringify(unsigned))) as unknown);
  const destination = serverNameOf(association.mxid);
  if (destination === null) throw new Error('the bound mxid names no server');
  await dataKeys.createKey(onbindDataKey(onbindId));
  const call = await dataKeys.sealField(
    onbindDataKey(onbindId),
    INVITE_SEALED_FIELDS.call,
    OnbindCall.encode({ destination, bodyJson }).finish(),
  );
  const inviteIds = carried.map(({ inviteId }) => inviteId);
  await handleCommand(store, onbindSubject(onbindId), storedOnbinds, {
    type: 'RequestOnbind',
    request: { onbindId, addrKey, bindingId, inviteIds, call, giveUpAt: new Date(at.getTime() + deps.maxAgeMs) },
    now: at,
  });
  await claimAll(deps, onbindId, inviteIds);
  log.info({ addrKey, onbindId, invites: inviteIds.length }, 'onbind requested');
  return undefined;
}

/** Marks the call's invites claimed by it (InviteClaimed): they are no longer pending. */
async function claimAll(deps: OnbindRequestsDeps, onbindId: string, inviteIds: readonly string[]): Promise<void> {
  for (const inviteId of inviteIds)
    await handleCommand(deps.store, inviteSubject(inviteId), storedInvites, {
      type: 'ClaimInvite',
      inviteId,
      onbindId,
      now: new Date(deps.now()),
    });
}

/**
 * Each invite's `signed: {mxid, token}`, by the long-term key it was stored under (the room's
 * third-party invite names that key; a homeserver verifies `signed` with it), or by the current
 * key where that one is gone (revoked or removed: the room's key no longer verifies anyway).
 */
async function signProofs(signing: Signing, mxid: string, invites: readonly CarriedInvite[]): Promise<unknown[]> {
  const proofs = inviteProofs(mxid, invites).map((proof) => JSON.stringify(proof));
  const byKey = new Map<string, number[]>();
  invites.forEach(({ keyId }, i) => {
    byKey.set(keyId, [...(byKey.get(keyId) ?? []), i]);
  });
  const signed: unknown[] = [];
  for (const [keyId, indexes] of byKey) {
    const batch = indexes.map((i) => proofs[i] ?? '');
    const answers = await signing.signJsonBatch(batch, keyId).catch((err: unknown) => {
      if (keyId === '' || !(err instanceof TesseraError && err.errcode === 'M_NOT_FOUND')) throw err;
      return signing.signJsonBatch(batch, '');
    });
    indexes.forEach((i, k) => {
      signed[i] = JSON.parse(answers[k] ?? 'null') as unknown;
    });
  }
  return signed;
}

/** The fields of the signed association that the onbind body repeats. */
function boundFieldsOf(associationJson: string): BoundAssociation {
  const { medium, address, mxid, ts, not_before, not_after } = JSON.parse(associationJson) as BoundAssociation;
  return { medium, address, mxid, ts, not_before, not_after };
}
