import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '@tessera/config';
import { createSmsProvider } from './create-sms-provider.js';
import { SmsRefused } from './sms-provider.js';

const CREDENTIALS = { TESSERA_SMS_USERNAME: 'u', TESSERA_SMS_PASSWORD: 'p', TESSERA_SMS_FROM: 'Tessera' };

describe('createSmsProvider', () => {
  it('refuses every message when no provider is configured', async () => {
    const provider = createSmsProvider(loadConfig({}));
    await assert.rejects(
      provider.send({ to: '447700900123', body: 'b' }),
      (err: Error) => err instanceof SmsRefused && err.message === 'no SMS provider configured',
    );
  });

  it('stops the start when a configured provider lacks a credential, naming the setting', () => {
    for (const provider of ['twilio', 'openmarket'])
      for (const key of Object.keys(CREDENTIALS)) {
        const env = { ...CREDENTIALS, TESSERA_SMS_PROVIDER: provider, [key]: '' };
        assert.throws(
          () => createSmsProvider(loadConfig(env)),
          (err: Error) => err instanceof ConfigError && err.message.startsWith(`${key}:`),
          `${provider} without ${key}`,
        );
      }
  });

  it('builds the configured provider when its credentials are there', () => {
    for (const provider of ['twilio', 'openmarket'])
      assert.equal(
        typeof createSmsProvider(loadConfig({ ...CREDENTIALS, TESSERA_SMS_PROVIDER: provider })).send,
        'function',
      );
  });
});
