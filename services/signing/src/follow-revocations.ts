import type { Logger, ReadinessCheck } from '@tessera/service-kit';
import { followKeys, type KeyEvent, type KeyView } from '@tessera/signing-keys';
import type { NatsConnection } from 'nats';
import type { KeyRing } from './key-ring.js';

export interface FollowedRevocations {
  /** `signing keys` (read since the last reconnect) and `valid signing key` (one is left to sign with). */
  readiness: ReadinessCheck[];
  close(): void;
}

/**
 * Follows the ring's keys on the stream while the service runs (the gateway's follower, limited to
 * these key ids), so that a key revoked with `tessera keys revoke` stops being used and vouched for
 * as soon as the revocation is stored: no restart. Throws when the keys cannot be read at start.
 */
export async function followRevocations(
  nc: NatsConnection,
  { ring, log, timeoutMs }: { ring: KeyRing; log: Logger; timeoutMs: number },
): Promise<FollowedRevocations> {
  const onChange = (keyId: string, view: KeyView, events: readonly KeyEvent[]) => {
    const ours = ring.get(keyId);
    // A view that is not our public key, active, is a revocation of ours (or a new key under the id, after one).
    if (ours === undefined || (view.status === 'active' && view.publicKey === ours.key.publicKeyBase64)) return;
    if (!ring.revoke(keyId)) return;
    const reason = events.findLast((event) => event.type === 'KeyRevoked')?.data.reason;
    log.warn({ keyId, reason }, 'signing key revoked: no longer used or vouched for');
    if (ring.current === undefined)
      log.error(
        { keyId },
        'every signing key is revoked: signing refused until a new key is added and signing restarted',
      );
  };
  const followed = await followKeys(nc, {
    log,
    timeoutMs,
    keyIds: ring.entries.map((entry) => entry.key.keyId),
    onChange,
  });
  return {
    readiness: [followed.readiness, { name: 'valid signing key', isReady: () => ring.current !== undefined }],
    close: () => followed.close(),
  };
}
