/**
 * Credentials under attack: password checks on worker threads (the API keeps answering while
 * they run), failures throttled per user and client with 429 and Retry-After, remembered
 * verifications dropped when the user's password changes or the user goes.
 */
import test from 'ava';
import { request as httpRequest } from 'node:http';
import { hashPassword } from '../../lib/auth/sha512-crypt.ts';
import { createUser, deleteUser, updatePassword } from '../../lib/auth/users.ts';
import { createVerifyPool, PoolBusyError, type VerifyPool } from '../../lib/auth/verify-pool.ts';
import { CLIENT_FAILURES, USER_FAILURES } from '../../api/auth.ts';
import { NOW, startApi } from '../helpers/api.ts';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const from = (client: string) => ({ 'X-Forwarded-For': client });

test('the pool checks passwords on threads and refuses checks beyond its queue', async (t) => {
  const pool = createVerifyPool({ threads: 1, maxQueued: 1 });
  t.teardown(() => pool.close());
  const hash = hashPassword('right', { rounds: 1000 });
  t.true(await pool.verify('right', hash));
  t.false(await pool.verify('wrong', hash));
  t.false(await pool.verify('right', 'not a crypt string'));
  // One running, one waiting: the third is refused at once.
  const slow = hashPassword('x', { rounds: 200_000 });
  const first = pool.verify('y', slow);
  const second = pool.verify('y', slow);
  await t.throwsAsync(pool.verify('y', slow), { instanceOf: PoolBusyError });
  t.deepEqual(await Promise.all([first, second]), [false, false]);
  t.is(pool.pending(), 0);
});

test('wrong passwords at passlib rounds never hold up other requests', async (t) => {
  const api = await startApi('sqlite', t);
  // DLRN's own hash cost: 656,000 rounds, close to a second of CPU per check here.
  await createUser(api.db.models, 'slow', 'right');
  let pending = 4;
  const attempts = Array.from({ length: 4 }, (_, i) =>
    api
      .call('POST', '/api/health', { auth: basic('slow', `wrong-${i}`), headers: from(`10.0.0.${i}`) })
      .finally(() => pending--),
  );
  // On the event loop, each check would make the next request wait for it: twenty requests one
  // after the other could not all be answered while the four checks run.
  const answered: number[] = [];
  for (let i = 0; i < 20; i++) {
    answered.push((await api.call('GET', '/api/health')).status);
    t.true(pending > 0, `health request ${i + 1} answered after the password checks ended`);
  }
  t.deepEqual(answered, Array(20).fill(200));
  t.deepEqual(
    (await Promise.all(attempts)).map((r) => r.status),
    [401, 401, 401, 401],
  );
});

/** The API with `[api] trusted_proxies` naming the test's own connections, so X-Forwarded-For picks the client. */
const behindProxy = (now: () => number, extra: Record<string, unknown> = {}) => ({
  now,
  ini: '\n[api]\ntrusted_proxies=127.0.0.1,::1\n',
  ...extra,
});

test('a guessing client is throttled for the user; a client that never failed is not, whatever others did', async (t) => {
  let now = NOW;
  const api = await startApi(
    'sqlite',
    t,
    behindProxy(() => now),
  );
  await createUser(api.db.models, 'bob', 'right', { rounds: 1000 });
  const attempt = (password: string, client = '10.1.1.1') =>
    api.call('POST', '/api/health', { auth: basic('bob', password), headers: from(client) });
  for (let i = 0; i < CLIENT_FAILURES; i++) t.is((await attempt(`wrong-${i}`)).status, 401);
  const throttled = await attempt('wrong-again');
  t.is(throttled.status, 429);
  t.is(throttled.headers.get('retry-after'), '60');
  t.regex(throttled.text, /Too many failed authentication attempts/);
  // The guessing client waits, even with the right password; another client does not.
  t.is((await attempt('right')).status, 429);
  t.is((await attempt('right', '10.1.1.2')).status, 200);

  // The user under attack from many clients: each client that failed is throttled...
  for (let i = CLIENT_FAILURES; i < USER_FAILURES; i++)
    t.is((await attempt(`wrong-${i}`, `10.2.0.${i}`)).status, 401);
  t.is((await attempt('wrong', '10.2.0.10')).status, 429);
  // ...but a client that never failed is checked: a wrong password is refused (and counted),
  // the right one is never locked out by someone else's failures.
  t.is((await attempt('wrong', '10.4.0.1')).status, 401);
  t.is((await attempt('wrong', '10.4.0.1')).status, 429);
  t.is((await attempt('right', '10.5.0.1')).status, 200);

  now += 30_000;
  const later = await attempt('wrong', '10.2.0.10');
  t.is(later.status, 429);
  t.is(later.headers.get('retry-after'), '30');
  // The minute is over: attempts are checked again.
  now += 30_000;
  t.is((await attempt('wrong', '10.2.0.10')).status, 401);
  t.is((await attempt('right', '10.1.1.1')).status, 200);
});

/** POST /api/health from another loopback address (a second real client). */
const fromAddress = (url: string, localAddress: string, auth: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const request = httpRequest(
      `${url}/api/health`,
      { method: 'POST', localAddress, headers: { Authorization: auth } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    request.on('error', reject);
    request.end();
  });

test('X-Forwarded-For names the client only behind a trusted proxy: otherwise it is the connection', async (t) => {
  const api = await startApi('sqlite', t);
  await createUser(api.db.models, 'carol', 'right', { rounds: 1000 });
  // Made-up addresses from a client that is not a proxy: every failure counts against it.
  for (let i = 0; i < CLIENT_FAILURES; i++) {
    const r = await api.call('POST', '/api/health', {
      auth: basic('carol', `wrong-${i}`),
      headers: from(`10.9.${i}.1`),
    });
    t.is(r.status, 401);
  }
  const sixth = await api.call('POST', '/api/health', {
    auth: basic('carol', 'right'),
    headers: from('10.9.99.1'),
  });
  t.is(sixth.status, 429, 'a new made-up address does not start a new count');
  // Another real client (another loopback address) is not locked out by them.
  t.is(await fromAddress(api.url, '127.0.0.2', basic('carol', 'right')), 200);
});

test('a burst of requests with the same valid credentials on a fresh server is one check, and none is refused', async (t) => {
  let checks = 0;
  const pool = createVerifyPool({ threads: 1, maxQueued: 4 });
  t.teardown(() => pool.close());
  const counting: VerifyPool = {
    ...pool,
    verify: (password, hash) => {
      checks++;
      return pool.verify(password, hash);
    },
  };
  let now = NOW;
  const api = await startApi('sqlite', t, { now: () => now, verifyPool: counting });
  // DLRN's own cost: 656,000 rounds, close to a second per check here, so the burst overlaps it.
  await createUser(api.db.models, 'ci-burst', 'right');
  const burst = await Promise.all(
    Array.from({ length: 200 }, () => api.call('POST', '/api/health', { auth: basic('ci-burst', 'right') })),
  );
  t.deepEqual(
    burst.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.text}`),
    [],
  );
  t.is(checks, 1, 'one check answered all 200');
  // In use near its end, the credential is checked again in the background, never cold.
  now += 9 * 60_000;
  t.is((await api.call('POST', '/api/health', { auth: basic('ci-burst', 'right') })).status, 200);
  await new Promise((r) => setTimeout(r, 2_500));
  t.is(checks, 2, 'refreshed before it expired');
  now += 3 * 60_000;
  const before = checks;
  t.is((await api.call('POST', '/api/health', { auth: basic('ci-burst', 'right') })).status, 200);
  t.is(checks, before, 'past the first expiry, still remembered: no cold check');
});

test('a remembered password stops working when it is changed and when the user is deleted', async (t) => {
  const api = await startApi('sqlite', t);
  await createUser(api.db.models, 'eve', 'first', { rounds: 1000 });
  const health = (password: string) => api.call('POST', '/api/health', { auth: basic('eve', password) });
  t.is((await health('first')).status, 200);
  await updatePassword(api.db.models, 'eve', 'second', { rounds: 1000 });
  t.is((await health('first')).status, 401);
  t.is((await health('second')).status, 200);
  await deleteUser(api.db.models, 'eve');
  t.is((await health('second')).status, 401);
});
