import { type Config, ConfigError } from '@tessera/config';
import { createOpenMarketProvider } from './openmarket.js';
import { type SmsProvider, SmsRefused } from './sms-provider.js';
import { createTwilioProvider } from './twilio.js';

/** Every send refused: SMS validation answers M_SEND_ERROR until a provider is configured. */
export const noSmsProvider: SmsProvider = {
  send: () => Promise.reject(new SmsRefused('no SMS provider configured')),
};

/** The provider TESSERA_SMS_PROVIDER names; a configured provider without its credentials stops the start. */
export function createSmsProvider(config: Config): SmsProvider {
  switch (config.TESSERA_SMS_PROVIDER) {
    case 'none':
      return noSmsProvider;
    case 'twilio': {
      const { username, password, from } = requireCredentials(config);
      return createTwilioProvider({ baseUrl: config.TESSERA_SMS_URL, accountSid: username, authToken: password, from });
    }
    case 'openmarket': {
      const { username, password, from } = requireCredentials(config);
      return createOpenMarketProvider({ baseUrl: config.TESSERA_SMS_URL, username, password, from });
    }
  }
}

function requireCredentials(config: Config): { username: string; password: string; from: string } {
  const provider = config.TESSERA_SMS_PROVIDER;
  const required = (key: 'TESSERA_SMS_USERNAME' | 'TESSERA_SMS_PASSWORD' | 'TESSERA_SMS_FROM'): string => {
    const value = config[key];
    if (value === undefined) throw new ConfigError(`${key}: required when TESSERA_SMS_PROVIDER is ${provider}`);
    return value;
  };
  return {
    username: required('TESSERA_SMS_USERNAME'),
    password: required('TESSERA_SMS_PASSWORD'),
    from: required('TESSERA_SMS_FROM'),
  };
}
