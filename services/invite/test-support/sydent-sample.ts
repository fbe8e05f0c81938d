// Values from the Sydent migration sample (a real Sydent's database and captures, issue 11: its
// README and captures/facts.json): throwaway test keys, tokens of its invites, and the signatures
// Sydent's answers carry, which an import must reproduce.

/** Sydent's signing key `ed25519 0 nVZ+…`: its seed, handed to signing by the import. */
export const SYDENT_SIGNING_SEED = 'nVZ+KyYYyhA78RaKHX6NeB90CNt/Ijz80KNlT1qOA1Y';
export const SYDENT_HS = '127.0.0.1:8492';

/** `invite_tokens` rows (received_ts and sent_ts in seconds there, in ms here). */
export const SYDENT_INVITES = {
  /** Attached to erin's onbind, which failed (500): sent_ts set. */
  erin: {
    token:
      'XdEGHCwIVrweDvtiAdIYjjQqNzIkiMfFeYQGjqeFZuZQphNLZlJRbRbWXzHSCiqQYSJwpwPhNhJWjruhRxWMrfjwsqhJstchtUwERPZnRMtXOWNupbDmEzmQQHMZjwwL',
    medium: 'email',
    address: 'erin@example.org',
    roomId: `!kickoff:${SYDENT_HS}`,
    sender: `@alice:${SYDENT_HS}`,
    receivedTs: 1_796_186_263_000,
    sentTs: 1_796_186_263_000,
  },
  /** Pending: the next binding of frank@example.org delivers it. */
  frank: {
    token:
      'iTvsRYJaeOztnkZwHVLsPPXAWRANUcGVeVzMhedQZoToNYngHEZvMIPAsCBFwCCrYPbOrWfbpYBquScadqABoQcLYUmJDhQigntYkFKcqPhkjdlegEGCuWftYuPkJBtJ',
    medium: 'email',
    address: 'frank@example.org',
    roomId: `!bookclub:${SYDENT_HS}`,
    sender: `@carol:${SYDENT_HS}`,
    receivedTs: 1_796_186_263_000,
    sentTs: null,
  },
} as const;

/** Erin's ephemeral private key (mailed with her invite), and what sign-ed25519 answers with it. */
export const ERIN_EPHEMERAL_PRIVATE_KEY = 'DUS_wpl4blLih090MHnSkQHm1uFauuHvr2i4q4GKBJ0';
export const ERIN_SIGN_ED25519 = {
  mxid: `@erin:${SYDENT_HS}`,
  signature: 'jAUQLLvKFxAQ/R8qPYN+0C92PmUxD4Pi/HMUeJweQT9DJ31tgsVLQD3NXBWIbM9uIGc06G1quIjc8YZ5i9C/CA',
};

/** Frank's invite in the onbind call of his binding to `mxid`: `signed`'s signature by Sydent's key. */
export const FRANK_ONBIND = {
  mxid: `@frank:${SYDENT_HS}`,
  signedSignature: 'DPHTDN6eUWw0i1f7GVsZGkPzwJDlj5Y3LGOrvY/yFKAsTuAg5YthsTcOKFUQ7Fsl8nF/TPkKsDYRnl8OPPBuCA',
};

/** `ephemeral_public_keys`: unpadded URL-safe base64, as Sydent stored them. */
export const SYDENT_EPHEMERAL_KEYS = [
  'S7Jt50IC_134aFq5JzbvCgEdZzcgHZQRq4MpTWr9SLY',
  'GD_oUoyIlfeMoJcwqfzRuAEi1sv5DFvYsB3xpuvgrA4',
  'XSYDchSzE0OY9x8Fx1Xg50F-DAi1exjCqG5IAnn6s1c',
  '8qG6xZhnyjbY4tUpcMJlgAWcyIESsnYJtD4Fu-AYD6U',
];
