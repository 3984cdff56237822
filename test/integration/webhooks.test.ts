/**
 * Outgoing webhooks: a receiver on localhost that fails its first two requests still gets the
 * vote and the promotion, signed with the shared secret, because the deliverEvent workflow
 * retries it.
 */
import test from 'ava';
import { createHmac } from 'node:crypto';
import { PYSAML, startApi } from '../helpers/api.ts';
import { startReceiver } from '../helpers/receiver.ts';

test('a vote and a promotion reach a receiver that fails twice first, signed', async (t) => {
  const { url, received } = await startReceiver(t, (before) => (before.length < 2 ? 503 : 200));
  const api = await startApi('sqlite', t, {
    temporal: true,
    ini: `[api]\nwebhook_urls=${url}\nwebhook_secret=hush\n`,
    webhookRetryInterval: '200 milliseconds',
  });

  const vote = await api.call('POST', '/api/report_result', {
    auth: true,
    body: {
      commit_hash: PYSAML.commit_hash,
      distro_hash: PYSAML.distro_hash,
      job_id: 'phase2',
      url: '',
      timestamp: 1441901000,
      success: true,
    },
  });
  t.is(vote.status, 201);
  const delivered = async (event: string) => {
    for (let i = 0; i < 100; i++) {
      const hit = received.find((r) => r.status === 200 && r.headers['x-dlrn-event'] === event);
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 200));
    }
    return undefined;
  };
  const voteEvent = await delivered('vote');
  t.truthy(voteEvent, JSON.stringify(received.map((r) => r.status)));
  t.deepEqual(
    received.slice(0, 3).map((r) => r.status),
    [503, 503, 200],
    'the first two attempts failed and were retried',
  );
  const payload = JSON.parse(voteEvent?.body ?? '{}') as object;
  t.like(payload, {
    event: 'vote',
    data: { job_id: 'phase2', success: true, user: 'ci', commit_hash: PYSAML.commit_hash },
  });
  t.is(
    voteEvent?.headers['x-dlrn-signature'],
    `sha256=${createHmac('sha256', 'hush')
      .update(voteEvent?.body ?? '')
      .digest('hex')}`,
  );

  const promoted = await api.call('POST', '/api/promote', {
    auth: true,
    body: {
      commit_hash: PYSAML.commit_hash,
      distro_hash: PYSAML.distro_hash,
      promote_name: 'tripleo-ci-testing',
    },
  });
  t.is(promoted.status, 201);
  const promotionEvent = await delivered('promotion');
  t.like(JSON.parse(promotionEvent?.body ?? '{}') as object, {
    event: 'promotion',
    data: { promote_name: 'tripleo-ci-testing' },
  });
});

test('a webhook URL that is not http(s) is a configuration error naming it', async (t) => {
  const error = await t.throwsAsync(
    startApi('sqlite', t, { ini: '[api]\nwebhook_urls=ftp://example.com/x\n' }),
  );
  t.regex(error?.message ?? '', /webhook_urls.*"ftp:\/\/example\.com\/x" is not an http or https URL/);
});
