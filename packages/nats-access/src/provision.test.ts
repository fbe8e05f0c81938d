import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '@tessera/config';
import { provisionSettingsOf } from './provision.js';

describe('provisionSettingsOf', () => {
  it("keeps rate-limit counters for the longest window of every limit, store-invite's per sender included", () => {
    for (const [key, seconds] of [
      ['TESSERA_RATE_LIMIT_IP', 90_000],
      ['TESSERA_RATE_LIMIT_COUNTRY', 80_000],
      ['TESSERA_RATE_LIMIT_INVITE_SENDER', 86_400],
    ] as const) {
      const settings = provisionSettingsOf(loadConfig({ [key]: `5/${seconds}s` }));
      assert.equal(settings.longestRateLimitWindowMs, seconds * 1000, key);
    }
  });
});
