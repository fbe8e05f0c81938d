import { z } from 'zod';

const listenPort = z.coerce.number().int().min(0).max(65_535); // 0: pick a free port (tests)
const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'expected host:port');
/**
 * Where a client finds a gRPC service: `host:port`; a comma-separated list of `ip:port` (replicas,
 * the calls spread round robin; grpc-js lists take IP addresses only, all IPv4 or all IPv6); or
 * `dns:///host:port` (every address the name resolves to, re-resolved as connections close).
 */
const GRPC_TARGET_FORMS = [
  /^[^\s:,/]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, // host:port
  /^dns:\/\/\/[^\s/:,]+:\d{1,5}$/, // dns:///host:port
  /^[0-9.]+:\d{1,5}(,[0-9.]+:\d{1,5})+$/, // ipv4:port,ipv4:port
  /^\[[0-9a-fA-F:]+\]:\d{1,5}(,\[[0-9a-fA-F:]+\]:\d{1,5})+$/, // [ipv6]:port,[ipv6]:port
];
const grpcTarget = z
  .string()
  .refine(
    (value) => GRPC_TARGET_FORMS.some((form) => form.test(value)),
    'expected host:port, dns:///host:port, or a list ip:port,ip:port (all IPv4 or all IPv6)',
  );
const absoluteHttpUrl = z.url({ protocol: /^https?$/ }).transform((url) => url.replace(/\/+$/, ''));
const natsUrl = z.string().regex(/^(nats|tls|wss?):\/\/\S+$/, 'expected nats://host:port');
const postgresUrl = z.string().regex(/^postgres(ql)?:\/\/\S+$/, 'expected postgres://user@host:port/db');
const smtpUrl = z.string().regex(/^smtps?:\/\/\S+$/, 'expected smtp://[user:pass@]host:port or smtps://...');
const cidrList = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.union([z.cidrv4(), z.cidrv6()])));
/** `<count>/<seconds>s`: at most count events in any fixed window of that many seconds. */
const rate = z
  .string()
  .regex(/^\d+\/\d+s$/, 'expected <count>/<seconds>s, e.g. 60/3600s')
  .transform((value) => {
    const [count, seconds] = value.slice(0, -1).split('/').map(Number) as [number, number];
    return { count, windowMs: seconds * 1000 };
  })
  .refine((limit) => limit.count > 0 && limit.windowMs > 0, 'count and seconds must be positive');
const nameList = z.string().transform((value) =>
  value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean),
);

/**
 * Every setting of every service, keyed by the names operators type (DESIGN.md's table first).
 * Strict: a misspelt TESSERA_* name is an error, not a silent default.
 */
export const ConfigSchema = z.strictObject({
  TESSERA_CONFIG: z.string().optional(),
  TESSERA_SERVER_NAME: z
    .string()
    .regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:.]+\](:\d{1,5})?$/, 'expected a server name such as example.org')
    .default('localhost'),
  TESSERA_PUBLIC_BASE_URL: absoluteHttpUrl.default('http://127.0.0.1:8090'),
  TESSERA_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  TESSERA_HTTP_PORT: listenPort.default(8090),
  /** Largest request body the gateway reads; larger ones get 413 M_TOO_LARGE. */
  TESSERA_HTTP_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  TESSERA_DATA_DIR: z.string().min(1).default('./.tessera'),
  TESSERA_NATS_URL: natsUrl.optional(),
  /**
   * This process's NATS credentials: an nkey user seed (`SU…`) or a `.creds` file (JWT and seed).
   * Each service has its own identity; unset: connect without credentials (a server without auth).
   */
  TESSERA_NATS_CREDENTIALS_FILE: z.string().min(1).optional(),
  /**
   * The local runner's NATS identities: `<identity>.nk` or `<identity>.creds` per service, plus
   * `admin` for provisioning. Unset: the runner makes nkeys for its own NATS in `<data>/nats/identities`.
   */
  TESSERA_NATS_IDENTITIES_DIR: z.string().min(1).optional(),
  /**
   * The monitoring endpoints (`http://host:8222`) of every NATS server, comma-separated:
   * `tessera provision` reads each one's /varz and refuses a server that does not fsync every write.
   * Unset: provisioning says it could not check.
   */
  TESSERA_NATS_MONITOR_URLS: nameList.pipe(z.array(z.url({ protocol: /^https?$/ }))).default([]),
  /** JetStream replicas of every stream and bucket that provisioning makes (3 in a cluster). */
  TESSERA_NATS_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  /**
   * The local runner: how many nats-server nodes it starts, clustered (3 tolerates the loss of one;
   * its streams then get 3 replicas unless TESSERA_NATS_REPLICAS says otherwise).
   */
  TESSERA_LOCAL_NATS_NODES: z.coerce
    .number()
    .int()
    .refine((n) => n === 1 || n === 3 || n === 5, 'expected 1, 3 or 5')
    .default(1),
  /** The local runner: processes per service, `<service>=<count>,...` (e.g. `gateway=2,directory=2`); others run one. */
  TESSERA_LOCAL_REPLICAS: z
    .string()
    .regex(/^([a-z]+=\d{1,2})(,[a-z]+=\d{1,2})*$/, 'expected <service>=<count>,..., e.g. gateway=2,directory=2')
    .optional(),
  TESSERA_DATABASE_URL: postgresUrl.optional(),
  /** Connections one process keeps to PostgreSQL at most (its pool); queries beyond them wait for one. */
  TESSERA_DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1_000).default(10),
  TESSERA_SMTP_URL: smtpUrl.optional(),
  /** Connections the notifier keeps open to the mail server; each carries one message at a time. */
  TESSERA_SMTP_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000).default(10),
  TESSERA_EMAIL_FROM: z.string().min(3).default('Tessera <noreply@localhost>'),
  TESSERA_TEMPLATES_DIR: z.string().min(1).optional(),
  TESSERA_DEFAULT_BRAND: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'expected a folder name')
    .default('tessera'),
  TESSERA_TERMS_FILE: z.string().min(1).optional(),
  TESSERA_OUTBOUND_ALLOW: cidrList.default([]),
  TESSERA_OUTBOUND_VERIFY_TLS: z.stringbool().default(true),
  TESSERA_RATE_LIMITS: z.enum(['on', 'off']).default('on'),

  TESSERA_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  /** The gateway's line per answered request, at info (off: leave access logs to the proxy in front). */
  TESSERA_ACCESS_LOG: z.enum(['on', 'off']).default('on'),
  /** Where this process serves gRPC; unset: the service's default port on 127.0.0.1. */
  TESSERA_GRPC_LISTEN: hostPort.optional(),
  /**
   * The base URL of an OTLP/HTTP receiver (an OpenTelemetry collector) to send traces to, as
   * OTEL_EXPORTER_OTLP_ENDPOINT (which is read when this is unset); unset: no tracing at all.
   */
  TESSERA_OTLP_ENDPOINT: absoluteHttpUrl.optional(),
  /** Where this process serves /metrics and /healthz; unset: the service's default port. */
  TESSERA_METRICS_LISTEN: hostPort.optional(),
  /**
   * Where the other services are: host:port, a list of replicas' ip:port, or dns:///host:port
   * (calls spread round robin over the addresses); unset: their default ports on 127.0.0.1.
   */
  TESSERA_SIGNING_ADDR: grpcTarget.optional(),
  TESSERA_SESSION_ADDR: grpcTarget.optional(),
  TESSERA_DIRECTORY_ADDR: grpcTarget.optional(),
  TESSERA_INVITE_ADDR: grpcTarget.optional(),
  /**
   * A gRPC server closes each client connection this long after it opened (calls in flight get
   * TESSERA_GRPC_DEADLINE_MS more), so clients re-resolve and spread over replicas started since.
   */
  TESSERA_GRPC_MAX_CONNECTION_AGE_MS: z.coerce.number().int().min(100).max(86_400_000).default(300_000),
  /** Deadline of every gRPC call a service makes. */
  TESSERA_GRPC_DEADLINE_MS: z.coerce.number().int().min(50).max(120_000).default(2_000),
  /** mTLS between services: the CA that signed every service certificate, and this process's own pair. */
  TESSERA_TLS_CA_FILE: z.string().min(1).optional(),
  TESSERA_TLS_CERT_FILE: z.string().min(1).optional(),
  TESSERA_TLS_KEY_FILE: z.string().min(1).optional(),
  /**
   * How often the TLS files are read again; changed ones (cert-manager renewed them) are used for
   * new connections from then on, once they make a valid pair.
   */
  TESSERA_TLS_RELOAD_INTERVAL_MS: z.coerce.number().int().min(100).max(86_400_000).default(30_000),
  /** Certificate names (CN or DNS SAN) that may call the signing service. */
  TESSERA_SIGNING_ALLOWED_CLIENTS: nameList.default(['gateway', 'session', 'directory', 'invite']),
  /** Certificate names that may call the session service (directory: bind's proof of validation). */
  TESSERA_SESSION_ALLOWED_CLIENTS: nameList.default(['gateway', 'directory', 'invite']),
  /** Certificate names that may call the directory service (invite: whether a 3PID is bound). */
  TESSERA_DIRECTORY_ALLOWED_CLIENTS: nameList.default(['gateway', 'invite']),
  /** Certificate names that may call the invite service (directory: pending invites on bind). */
  TESSERA_INVITE_ALLOWED_CLIENTS: nameList.default(['gateway', 'directory']),
  /** The signing key store: Sydent/Synapse format, one `ed25519 <id> <seed>` line per key. Unset: under the data dir. */
  TESSERA_SIGNING_KEY_FILE: z.string().min(1).optional(),
  /**
   * The server secret (32+ random bytes, base64, in a file): the HMAC key of address keys, session
   * ids and token digests. Given to the services that need it; never to signing's key store.
   */
  TESSERA_SECRET_KEY_FILE: z.string().min(1).optional(),
  /** How long requestToken waits for the notifier to report the message sent or refused. */
  TESSERA_DELIVERY_WAIT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  /**
   * How long a notifier holds a delivery it took on (renewed while a slow send runs). A delivery
   * whose notifier died is taken over, and its message sent, once this has run out.
   */
  TESSERA_DELIVERY_LEASE_MS: z.coerce.number().int().min(1_000).max(600_000).default(10_000),
  /**
   * Deliveries one notifier works on at once (and leaves unacknowledged on the server). Each
   * mostly waits (on the store's fsyncs, the mail server, the SMS provider), so many in progress
   * keep a replica busy; messages beyond TESSERA_SMTP_MAX_CONNECTIONS queue for a connection.
   */
  TESSERA_NOTIFIER_CONCURRENCY: z.coerce.number().int().min(1).max(10_000).default(64),
  /** Wrong tokens a validation session takes before it is locked. */
  TESSERA_TOKEN_MAX_FAILURES: z.coerce.number().int().min(1).max(1_000).default(5),
  /** v2 lookup: the most addresses one query may ask; more get 413 M_TOO_LARGE. */
  TESSERA_LOOKUP_MAX_ADDRESSES: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  /**
   * How often the directory makes a new lookup pepper (0: only on command). A day: the spec asks
   * for "often", and each rotation has the projector hash every binding again.
   */
  TESSERA_PEPPER_ROTATE_INTERVAL_MS: z.coerce
    .number()
    .int()
    .refine((ms) => ms === 0 || ms >= 60_000, 'expected 0 (never) or at least 60000')
    .default(86_400_000),
  /** How long an older pepper is still accepted once a newer one is offered, before it is retired. */
  TESSERA_PEPPER_GRACE_MS: z.coerce.number().int().min(1_000).max(604_800_000).default(600_000),
  /** How long bind and unbind wait for the projector to make the change visible before answering 503. */
  TESSERA_BIND_VISIBLE_WAIT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  /** The directory's admin HTTP API (bind, unbind, import, pepper rotation): host:port; unset: off. */
  TESSERA_DIRECTORY_ADMIN_LISTEN: hostPort.optional(),
  /**
   * A file holding the bearer token the admin API requires; required when it listens on anything
   * but loopback, optional on loopback.
   */
  TESSERA_DIRECTORY_ADMIN_TOKEN_FILE: z.string().min(1).optional(),
  /** How long a stored invite stays pending (mailed, deliverable on bind, its ephemeral key valid). */
  TESSERA_INVITE_EXPIRY_MS: z.coerce.number().int().min(60_000).max(31_536_000_000).default(2_592_000_000),
  /** store-invite: room IDs whose invites are refused (403 M_UNAUTHORIZED), comma-separated. */
  TESSERA_INVITE_BLOCKED_ROOMS: nameList.default([]),
  /** store-invite: homeservers (the sender's or the room's server name) whose invites are refused. */
  TESSERA_INVITE_BLOCKED_SERVERS: nameList.default([]),
  /** store-invite: words that, in a room name, room alias or display name, refuse the invite (any case). */
  TESSERA_INVITE_BLOCKED_KEYWORDS: nameList.default([]),
  /** store-invite per sender (the existing shared counters): `<count>/<seconds>s`. */
  TESSERA_RATE_LIMIT_INVITE_SENDER: rate.prefault('100/3600s'),
  /**
   * The invite mail's `web_client_location` when the request has no
   * `org.matrix.web_client_location` (Sydent's default).
   */
  TESSERA_INVITE_WEB_CLIENT_LOCATION: absoluteHttpUrl.default('https://app.element.io'),
  /** The invite service's admin HTTP API (revoke invites): host:port; unset: off. */
  TESSERA_INVITE_ADMIN_LISTEN: hostPort.optional(),
  /** As TESSERA_DIRECTORY_ADMIN_TOKEN_FILE, for the invite service's admin API. */
  TESSERA_INVITE_ADMIN_TOKEN_FILE: z.string().min(1).optional(),
  /** The session service's admin HTTP API (imports of accounts, terms and sessions): host:port; unset: off. */
  TESSERA_SESSION_ADMIN_LISTEN: hostPort.optional(),
  /** As TESSERA_DIRECTORY_ADMIN_TOKEN_FILE, for the session service's admin API. */
  TESSERA_SESSION_ADMIN_TOKEN_FILE: z.string().min(1).optional(),
  /** How long the notifier keeps trying an onbind call before it is abandoned. */
  TESSERA_ONBIND_MAX_AGE_MS: z.coerce.number().int().min(1_000).max(2_592_000_000).default(604_800_000),
  /** The wait after an onbind call's first failure; doubled after each (with jitter) up to the max. */
  TESSERA_ONBIND_RETRY_BASE_MS: z.coerce.number().int().min(10).max(3_600_000).default(2_000),
  TESSERA_ONBIND_RETRY_MAX_MS: z.coerce.number().int().min(10).max(86_400_000).default(3_600_000),
  /**
   * How long one onbind call may take once its homeserver is found (discovery keeps its own 10 s):
   * Synapse's onbind does federation work per invite before it answers.
   */
  TESSERA_ONBIND_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(60_000),
  /** SMS provider: `none` refuses to send (M_SEND_ERROR), `twilio` or `openmarket` speak those APIs. */
  TESSERA_SMS_PROVIDER: z.enum(['none', 'twilio', 'openmarket']).default('none'),
  /** The provider's API base URL (a compatible service or a test double may stand in). */
  TESSERA_SMS_URL: absoluteHttpUrl.optional(),
  /** Twilio: account SID; OpenMarket: user name. */
  TESSERA_SMS_USERNAME: z.string().min(1).optional(),
  /** Twilio: auth token; OpenMarket: password. */
  TESSERA_SMS_PASSWORD: z.string().min(1).optional(),
  /** The sender: a phone number (E.164) or an alphanumeric originator. */
  TESSERA_SMS_FROM: z.string().min(1).optional(),
  /** Homeserver names whose OpenID tokens may register accounts; empty: any. */
  TESSERA_HOMESERVER_ALLOW: nameList.default([]),
  /** Proxies (CIDRs) whose X-Forwarded-For the gateway believes for the client's IP address. */
  TESSERA_TRUSTED_PROXIES: cidrList.default([]),
  /** requestToken and store-invite per client IP address (v1, unauthenticated callers): `<count>/<seconds>s`. */
  TESSERA_RATE_LIMIT_IP: rate.prefault('60/3600s'),
  /** requestToken per v2 user. */
  TESSERA_RATE_LIMIT_USER: rate.prefault('60/3600s'),
  /** SMS per phone number. */
  TESSERA_RATE_LIMIT_MSISDN: rate.prefault('5/3600s'),
  /** SMS per country the numbers are dialled from. */
  TESSERA_RATE_LIMIT_COUNTRY: rate.prefault('500/3600s'),
  /**
   * Testing only: a file holding a number of milliseconds that the services add to the real
   * clock (re-read on every use), so tests can move time forward in a running system.
   */
  TESSERA_CLOCK_OFFSET_FILE: z.string().min(1).optional(),
  /** A nats-server binary for the local runner and tests (2.10 or newer). */
  TESSERA_NATS_SERVER_BIN: z.string().min(1).optional(),
});

export type Config = Readonly<z.infer<typeof ConfigSchema>>;
export type ConfigKey = keyof z.input<typeof ConfigSchema>;
