import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type FakeSmsProvider, startFakeSmsProvider } from '../../test-support/fake-sms-provider.js';
import { SmsRefused, SmsUnavailable } from './sms-provider.js';
import { createTwilioProvider } from './twilio.js';

const MSISDN = '447700900123';

describe('the Twilio provider, against an HTTP server on loopback', () => {
  let fake: FakeSmsProvider;
  const provider = (timeoutMs = 2_000) =>
    createTwilioProvider({
      baseUrl: fake.url,
      accountSid: 'AC123',
      authToken: 'tok/en',
      from: '+15005550006',
      timeoutMs,
    });
  before(async () => {
    fake = await startFakeSmsProvider();
  });
  beforeEach(() => {
    fake.requests.length = 0;
    fake.answer({ status: 201, body: { sid: 'SM42', status: 'queued' } });
  });
  after(() => fake.close());

  it("posts To (+E.164), From and Body as a form to the account's Messages.json with Basic auth", async () => {
    await provider().send({ to: MSISDN, body: 'Your code is 123456' });
    const [request] = fake.requests;
    assert.equal(request?.method, 'POST');
    assert.equal(request?.path, '/2010-04-01/Accounts/AC123/Messages.json');
    assert.equal(request?.headers.authorization, `Basic ${Buffer.from('AC123:tok/en').toString('base64')}`);
    assert.equal(request?.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.deepEqual(Object.fromEntries(new URLSearchParams(request?.body)), {
      To: `+${MSISDN}`,
      From: '+15005550006',
      Body: 'Your code is 123456',
    });
  });

  it('returns the message sid of a 201', async () => {
    assert.deepEqual(await provider().send({ to: MSISDN, body: 'b' }), { messageId: 'SM42' });
  });

  it('throws SmsRefused on a 400, naming the Twilio error code and not the number', async () => {
    fake.answer({
      status: 400,
      body: { code: 21211, message: `The 'To' number +${MSISDN} is not valid`, status: 400 },
    });
    await assert.rejects(
      provider().send({ to: MSISDN, body: 'b' }),
      (err: Error) =>
        err instanceof SmsRefused &&
        err.message.includes('HTTP 400') &&
        err.message.includes('21211') &&
        !err.message.includes(MSISDN),
    );
  });

  it('throws SmsUnavailable on a 500 and on a 429', async () => {
    for (const status of [500, 503, 429]) {
      fake.answer({ status, body: { code: 20500 } });
      await assert.rejects(provider().send({ to: MSISDN, body: 'b' }), SmsUnavailable, `HTTP ${status}`);
    }
  });

  it('throws SmsUnavailable when the provider does not answer in time', async () => {
    fake.answer('hang');
    await assert.rejects(
      provider(200).send({ to: MSISDN, body: 'b' }),
      (err: Error) => err instanceof SmsUnavailable && err.message.includes('timeout'),
    );
  });

  it('throws SmsUnavailable when nothing listens', async () => {
    const gone = await startFakeSmsProvider();
    await gone.close();
    const unreachable = createTwilioProvider({ baseUrl: gone.url, accountSid: 'AC1', authToken: 't', from: 'x' });
    await assert.rejects(
      unreachable.send({ to: MSISDN, body: 'b' }),
      (err: Error) => err instanceof SmsUnavailable && err.message.includes('ECONNREFUSED'),
    );
  });
});
