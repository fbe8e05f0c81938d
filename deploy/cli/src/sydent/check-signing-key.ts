import type { AssociationImport, SignatureCheck, SignatureCheckRequest } from '@tessera/admin-imports';
import { planAssociations } from './plan-associations.js';
import { type Planned, PlanReport } from './plan-report.js';
import type { SydentRows } from './sydent-db.js';

/**
 * The first association the import would send with Sydent's own signature kept: an own row whose
 * signed JSON was clean (nothing stripped, address already folded), so the directory's signature
 * over it must equal Sydent's when signing holds Sydent's key. Undefined when there is none.
 * Plans the associations once more (with a report of its own) and stops at the first such row.
 */
export function firstSydentSignedAssociation(
  rows: Pick<SydentRows, 'localAssociations' | 'globalAssociations' | 'peerNames' | 'pepper'>,
  { serverName, now }: { serverName: string; now: number },
): Planned<AssociationImport> | undefined {
  const ownImport = `sydent:${serverName}:`;
  for (const planned of planAssociations(rows, { serverName, now, report: new PlanReport() }))
    if (planned.item.importId.startsWith(ownImport) && planned.item.association.signatures?.[serverName] !== undefined)
      return planned;
  return undefined;
}

export type SigningKeyCheck = { ok: boolean; message: string };

/**
 * Asks the directory to sign `probe` as an import would (check-signature stores nothing) and
 * judges the answer: only `same` proves signing holds Sydent's key. Anything else means every
 * imported row and invite would carry a key no room knows, so the import must not start.
 */
export async function checkSigningKey(
  probe: Planned<AssociationImport> | undefined,
  checkSignature: (request: SignatureCheckRequest) => Promise<SignatureCheck>,
  where: { sydentKeyId: string; keyFile: string },
): Promise<SigningKeyCheck> {
  if (probe === undefined)
    return {
      ok: true,
      message:
        'warning: no association keeps a signature of Sydent’s (no clean own row): cannot check before sending ' +
        'that signing holds Sydent’s key; the signature counts after the import show what signing did',
    };
  const { keyId, ourSignature } = await checkSignature({ association: probe.item.association });
  if (ourSignature === 'same')
    return { ok: true, message: `signing holds Sydent’s key ${keyId}: it signs ${probe.label} as Sydent did` };
  const differs =
    ourSignature === 'changed'
      ? `its signature of ${probe.label} differs from the one Sydent made under that id`
      : `Sydent signed ${probe.label} under ${where.sydentKeyId}, not under that id`;
  return {
    ok: false,
    message:
      `signing does not hold Sydent’s key: it signs with ${keyId}, and ${differs}. ` +
      'Signing made a key of its own before the config stage handed Sydent’s over, or it reads another key file. ' +
      'Nothing was sent. Stop Tessera, put Sydent’s key in signing’s key file ' +
      `(${where.keyFile} by this configuration: move the file there away and run this command with --stage config, ` +
      'which writes it), start Tessera again, and run --stage data again.',
  };
}
