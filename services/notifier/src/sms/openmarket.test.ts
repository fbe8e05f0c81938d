import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type FakeSmsProvider, startFakeSmsProvider } from '../../test-support/fake-sms-provider.js';
import { createOpenMarketProvider } from './openmarket.js';
import { SmsRefused, SmsUnavailable } from './sms-provider.js';

const MSISDN = '4915123456789';

describe('the OpenMarket provider, against an HTTP server on loopback', () => {
  let fake: FakeSmsProvider;
  const provider = () =>
    createOpenMarketProvider({ baseUrl: fake.url, username: 'user', password: 'pa:ss', from: 'Tessera' });
  before(async () => {
    fake = await startFakeSmsProvider();
  });
  beforeEach(() => {
    fake.requests.length = 0;
    fake.answer({ status: 202, headers: { 'x-request-id': 'ticket-7' } });
  });
  after(() => fake.close());

  it('posts a mobileTerminate as JSON to /sms/v4/mt with Basic auth', async () => {
    await provider().send({ to: MSISDN, body: 'Your code is 654321' });
    const [request] = fake.requests;
    assert.equal(request?.method, 'POST');
    assert.equal(request?.path, '/sms/v4/mt');
    assert.equal(request?.headers.authorization, `Basic ${Buffer.from('user:pa:ss').toString('base64')}`);
    assert.equal(request?.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(request?.body ?? ''), {
      mobileTerminate: {
        source: { address: 'Tessera' },
        destination: { address: `+${MSISDN}` },
        message: { content: 'Your code is 654321', type: 'text' },
      },
    });
  });

  it('takes the ticket id from X-Request-Id, else from a ticketId in the body', async () => {
    assert.deepEqual(await provider().send({ to: MSISDN, body: 'b' }), { messageId: 'ticket-7' });
    fake.answer({ status: 200, body: { ticketId: 'ticket-8' } });
    assert.deepEqual(await provider().send({ to: MSISDN, body: 'b' }), { messageId: 'ticket-8' });
    fake.answer({ status: 202 });
    assert.deepEqual(await provider().send({ to: MSISDN, body: 'b' }), {});
  });

  it('throws SmsRefused on a 400 and SmsUnavailable on a 500', async () => {
    fake.answer({ status: 400, body: { error: { code: 1003, description: `bad destination +${MSISDN}` } } });
    await assert.rejects(
      provider().send({ to: MSISDN, body: 'b' }),
      (err: Error) => err instanceof SmsRefused && err.message.includes('1003') && !err.message.includes(MSISDN),
    );
    fake.answer({ status: 500 });
    await assert.rejects(provider().send({ to: MSISDN, body: 'b' }), SmsUnavailable);
  });
});
