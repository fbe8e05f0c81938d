import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FakeHomeserver, startFakeHomeserver, startSmtpServer, type TestSmtpServer } from '@tessera/test-harness';
import { REPO_ROOT } from './repo-root.js';

const SHIPPED_TEMPLATES = join(REPO_ROOT, 'packages/templates/templates');

/** An SMS sent through the Twilio-compatible double. */
export interface SentSms {
  to: string;
  from: string;
  body: string;
  authorization: string;
}

/** A Twilio-compatible SMS provider on loopback that records what it is asked to send. */
export interface FakeSmsProvider {
  url: string;
  sent: SentSms[];
  close(): Promise<void>;
}

export async function startFakeSmsProvider(): Promise<FakeSmsProvider> {
  const sent: SentSms[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      const form = new URLSearchParams(body);
      if (req.method !== 'POST' || !/^\/2010-04-01\/Accounts\/[^/]+\/Messages\.json$/.test(req.url ?? '')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}');
        return;
      }
      sent.push({
        to: form.get('To') ?? '',
        from: form.get('From') ?? '',
        body: form.get('Body') ?? '',
        authorization: req.headers.authorization ?? '',
      });
      res.writeHead(201, { 'content-type': 'application/json' }).end(`{"sid":"SM${sent.length}"}`);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sent,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

export const TERMS_URLS = {
  tosEn: 'https://terms.example.org/tos-1.0-en.html',
  tosFr: 'https://terms.example.org/tos-1.0-fr.html',
  privacyEn: 'https://terms.example.org/privacy-2.1-en.html',
};

const TERMS_YAML = `master_version: "m1"
docs:
  terms_of_service:
    version: "1.0"
    langs:
      en:
        name: "Terms of Service"
        url: "${TERMS_URLS.tosEn}"
      fr:
        name: "Conditions d'utilisation"
        url: "${TERMS_URLS.tosFr}"
  privacy_policy:
    version: "2.1"
    langs:
      en:
        name: "Privacy Policy"
        url: "${TERMS_URLS.privacyEn}"
`;

/**
 * Everything outside Tessera that the validation flows talk to, all real and on loopback: an SMTP
 * listener, a homeserver over HTTPS, an SMS provider; plus the operator's files (terms, a template
 * folder with a second brand, the test clock) and the settings that point the runner at them.
 */
export interface OutsideWorld {
  smtp: TestSmtpServer;
  homeserver: FakeHomeserver;
  sms: FakeSmsProvider;
  dir: string;
  clockFile: string;
  /** Moves the services' clock: milliseconds added to real time. */
  setClockOffset(ms: number): void;
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startOutsideWorld(options: { rejectRecipient?: (address: string) => boolean } = {}) {
  const smtp = await startSmtpServer(options.rejectRecipient ? { rejectRecipient: options.rejectRecipient } : {});
  const homeserver = await startFakeHomeserver();
  const sms = await startFakeSmsProvider();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-outside-'));
  const termsFile = join(dir, 'terms.yaml');
  writeFileSync(termsFile, TERMS_YAML);
  const clockFile = join(dir, 'clock-offset');
  writeFileSync(clockFile, '0');
  const templatesDir = join(dir, 'templates');
  cpSync(SHIPPED_TEMPLATES, templatesDir, { recursive: true });
  mkdirSync(join(templatesDir, 'custom'));
  writeFileSync(
    join(templatesDir, 'custom', 'verification_template.eml.j2'),
    [
      'Date: {{ date }}',
      'From: {{ from }}',
      'To: {{ to }}',
      'Message-ID: {{ messageid }}',
      'Subject: Custom brand code',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=UTF-8',
      '',
      'Custom brand. Your code: {{ token }}',
      'Link: {{ link }}',
      '',
    ].join('\n'),
  );
  const world: OutsideWorld = {
    smtp,
    homeserver,
    sms,
    dir,
    clockFile,
    setClockOffset: (ms) => writeFileSync(clockFile, String(ms)),
    env: {
      TESSERA_SMTP_URL: smtp.url,
      TESSERA_OUTBOUND_ALLOW: '127.0.0.0/8',
      TESSERA_OUTBOUND_VERIFY_TLS: 'false',
      TESSERA_SMS_PROVIDER: 'twilio',
      TESSERA_SMS_URL: sms.url,
      TESSERA_SMS_USERNAME: 'AC0123456789',
      TESSERA_SMS_PASSWORD: 'sms-provider-password',
      TESSERA_SMS_FROM: '+15550001111',
      TESSERA_TERMS_FILE: termsFile,
      TESSERA_TEMPLATES_DIR: templatesDir,
      TESSERA_CLOCK_OFFSET_FILE: clockFile,
      TESSERA_RATE_LIMITS: 'off',
    },
    close: async () => {
      await Promise.all([smtp.close(), homeserver.close(), sms.close()]);
    },
  };
  return world;
}
