import { canonicalJson } from '@tessera/canonical-json';
import type { ProjectionWait } from '@tessera/db';
import {
  type DataKeys,
  type EventStore,
  handleCommand,
  loadState,
  type RetryLater,
  subjectOf,
} from '@tessera/event-store';
import { InviteSecrets, OnbindCall } from '@tessera/proto/tessera/events/v1/invite';
import type { Sealed } from '@tessera/proto/tessera/events/v1/sealed';
import type { Logger } from '@tessera/service-kit';
import {
  ASSOCIATION_SEALED_FIELDS,
  bindingDataKey,
  INVITE_SEALED_FIELDS,
  inviteDataKey,
  onbindDataKey,
} from '@tessera/spec-params';
import { isClaimedBy } from '../domain/invite.js';
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
export type NewBinding = { addrKey: string; bindingId: string; association: Sealed; seq: number };

/**
 * Reacts to a new binding: once the read model holds everything up to it, claims the address's
 * pending invites for one onbind call (id = the binding's id) and requests that call, its body
 * signed and sealed. Idempotent: a redelivery finds the call requested and does nothing; one after
 * a crash between claims and request finds the invites this call claimed and requests it then.
 * Nothing is requested when no invite is pending. Logs no address, token or user ID.
 */
export async function requestOnbind(deps: OnbindRequestsDeps, binding: NewBinding): Promise<RetryLater | undefined> {
  const { store, dataKeys, readModel, log, now } = deps;
  const { addrKey, bindingId } = binding;
  const onbindId = bindingId;
  if (!(await deps.projected.until(binding.seq, deps.projectionWaitMs))) {
    log.warn({ addrKey, seq: binding.seq }, 'projector behind the binding; onbind considered again later');
    return { retryInMs: deps.projectionWaitMs };
  }
  if ((await loadState(store, onbindSubject(onbindId), storedOnbinds)).state.requested) return undefined;
  // A binding replaced or ended since (a replay of old events): its invites wait for the current one.
  if ((await readModel.currentBindingId(addrKey)) !== bindingId) return undefined;
  const association = await openAssociation(dataKeys, binding);
  if (association === null) return undefined;

  const claimed: (CarriedInvite & { inviteId: string })[] = [];
  for (const inviteId of await readModel.invitesForOnbind(addrKey, onbindId, now())) {
    const handled = await handleCommand(store, inviteSubject(inviteId), storedInvites, {
      type: 'ClaimInvite',
      inviteId,
      onbindId,
      now: new Date(now()),
    });
    if (!isClaimedBy(handled.state, onbindId) || handled.state.status === 'none') continue;
    const opened = await dataKeys.openField(
      inviteDataKey(inviteId),
      INVITE_SEALED_FIELDS.secrets,
      handled.state.secrets,
    );
    if (opened === null) continue; // revoked and erased meanwhile
    const secrets = InviteSecrets.decode(opened);
    claimed.push({
      inviteId,
      address: secrets.normalisedAddress,
      roomId: secrets.roomId,
      sender: secrets.sender,
      token: secrets.token,
    });
  }
  if (claimed.length === 0) return undefined;

  const proofs = await deps.signing.signJsonBatch(
    inviteProofs(association.mxid, claimed).map((proof) => JSON.stringify(proof)),
  );
  const unsigned = onbindBody(
    association,
    claimed,
    proofs.map((proof) => JSON.parse(proof) as unknown),
  );
  const bodyJson = canonicalJson(JSON.parse(await deps.signing.signJson(JSON.stringify(unsigned))) as unknown);
  const destination = serverNameOf(association.mxid);
  if (destination === null) throw new Error('the bound mxid names no server');
  await dataKeys.createKey(onbindDataKey(onbindId));
  const call = await dataKeys.sealField(
    onbindDataKey(onbindId),
    INVITE_SEALED_FIELDS.call,
    OnbindCall.encode({ destination, bodyJson }).finish(),
  );
  const at = new Date(now());
  const inviteIds = claimed.map(({ inviteId }) => inviteId);
  await handleCommand(store, onbindSubject(onbindId), storedOnbinds, {
    type: 'RequestOnbind',
    request: {
      onbindId,
      addrKey,
      bindingId,
      inviteIds,
      call,
      giveUpAt: new Date(at.getTime() + deps.maxAgeMs),
    },
    now: at,
  });
  log.info({ addrKey, onbindId, invites: inviteIds.length }, 'onbind requested');
  return undefined;
}

/** The binding's signed association, or null once its key was erased (replaced or unbound since). */
async function openAssociation(dataKeys: DataKeys, binding: NewBinding): Promise<BoundAssociation | null> {
  const opened = await dataKeys.openField(
    bindingDataKey(binding.addrKey, binding.bindingId),
    ASSOCIATION_SEALED_FIELDS.association,
    binding.association,
  );
  if (opened === null) return null;
  const { medium, address, mxid, ts, not_before, not_after } = JSON.parse(
    Buffer.from(opened).toString('utf8'),
  ) as BoundAssociation;
  return { medium, address, mxid, ts, not_before, not_after };
}
