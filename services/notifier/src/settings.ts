import { type Config, ConfigError } from '@tessera/config';
import addressparser from 'nodemailer/lib/addressparser';
import { createSmsProvider } from './sms/create-sms-provider.js';
import type { SmsProvider } from './sms/sms-provider.js';

/** The mail settings the notifier cannot start without, checked before it connects to anything. */
export type EmailSettings = {
  smtpUrl: string;
  /** TESSERA_EMAIL_FROM as the From header shows it. */
  emailFrom: string;
  /** Its bare address, for MAIL FROM. */
  envelopeFrom: string;
};

export function readEmailSettings(config: Config): EmailSettings {
  // No silent default: the local runner passes its own mail catcher's URL, and a production
  // deployment that forgot the setting must not start and lose every validation mail.
  const smtpUrl = config.TESSERA_SMTP_URL;
  if (smtpUrl === undefined)
    throw new ConfigError('TESSERA_SMTP_URL: required by the notifier (smtp://[user:pass@]host:port or smtps://…)');
  const emailFrom = config.TESSERA_EMAIL_FROM;
  const envelopeFrom = addressparser(emailFrom, { flatten: true })[0]?.address ?? '';
  if (!/^[^@\s<>]+@[^@\s<>]+$/.test(envelopeFrom))
    throw new ConfigError('TESSERA_EMAIL_FROM: expected an address, e.g. "Tessera <noreply@example.org>"');
  return { smtpUrl, emailFrom, envelopeFrom };
}

/**
 * The notifier's mail settings and SMS provider, checked before it connects to anything (its
 * templates are loaded apart: a broken one names its file).
 */
export function readNotifierSettings(config: Config): { email: EmailSettings; sms: SmsProvider } {
  return { email: readEmailSettings(config), sms: createSmsProvider(config) };
}
