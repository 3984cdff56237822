/**
 * Waivers of automatic promotion over the API, on SQLite and PostgreSQL: made and withdrawn only
 * with credentials, recording who and when; listed while in force (or all); bad input refused
 * naming what is wrong, with nothing stored.
 */
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call -- JSON responses, asserted field by field */
import test from 'ava';
import { NOW, q, startApi } from '../helpers/api.ts';
import { DATABASE_KINDS } from '../helpers/services.ts';

const now = NOW / 1000;

for (const kind of DATABASE_KINDS.filter((k) => k !== 'mysql')) {
  test(`${kind}: a waiver is made, listed while in force, and withdrawn, each by a user`, async (t) => {
    const api = await startApi(kind, t, { now: () => NOW });
    const body = {
      promote_name: 'current-tripleo',
      job_id: 'periodic-fs001',
      reason: 'LP#2001 upstream regression',
    };
    t.is((await api.call('POST', '/api/waivers', { body: { ...body, expires_in: 3600 } })).status, 401);
    const made = await api.call('POST', '/api/waivers', { body: { ...body, expires_in: 3600 }, auth: true });
    t.is(made.status, 201, made.text);
    t.like(made.body, {
      promote_name: 'current-tripleo',
      job_id: 'periodic-fs001',
      reason: 'LP#2001 upstream regression',
      candidate: null,
      expires_at: now + 3600,
      user: 'ci',
      created_at: now,
      withdrawn_by: null,
    });
    const one = await api.call('POST', '/api/waivers', {
      body: {
        ...body,
        job_id: 'periodic-fs035',
        expires_at: now + 60,
        commit_hash: 'abc',
        distro_hash: 'def',
      },
      auth: true,
    });
    t.is(one.status, 201, one.text);
    t.is(one.body.candidate, 'abc/def');
    const listed = await api.call('GET', `/api/waivers${q({ promote_name: 'current-tripleo' })}`);
    t.deepEqual(
      listed.body.map((w: { job_id: string }) => w.job_id),
      ['periodic-fs035', 'periodic-fs001'],
    );
    t.deepEqual((await api.call('GET', `/api/waivers${q({ promote_name: 'other' })}`)).body, []);
    // Withdrawn: gone from the list in force, kept with who and when in the full one.
    t.is((await api.call('DELETE', `/api/waivers/${made.body.id}`)).status, 401);
    const withdrawn = await api.call('DELETE', `/api/waivers/${made.body.id}`, { auth: true });
    t.is(withdrawn.status, 200, withdrawn.text);
    t.like(withdrawn.body, { withdrawn_by: 'ci', withdrawn_at: now });
    t.is((await api.call('DELETE', `/api/waivers/${made.body.id}`, { auth: true })).status, 409);
    // An unknown one is DLRN's answer to an unknown commit: 400 naming it.
    t.like(await api.call('DELETE', '/api/waivers/9999', { auth: true }), {
      status: 400,
      body: { message: 'No waiver 9999' },
    });
    t.is((await api.call('DELETE', '/api/waivers/x1', { auth: true })).status, 400);
    t.deepEqual(
      (await api.call('GET', '/api/waivers')).body.map((w: { job_id: string }) => w.job_id),
      ['periodic-fs035'],
    );
    t.deepEqual(
      (await api.call('GET', `/api/waivers${q({ all: true })}`)).body.map(
        (w: { job_id: string }) => w.job_id,
      ),
      ['periodic-fs035', 'periodic-fs001'],
    );
  });
}

test('a waiver without an end, with an end in the past or too far, for a reserved name, or half a candidate is refused', async (t) => {
  const api = await startApi('sqlite', t, { now: () => NOW });
  const body = { promote_name: 'current-tripleo', job_id: 'j', reason: 'r' };
  const refused = async (extra: Record<string, unknown>) => {
    const answer = await api.call('POST', '/api/waivers', { body: { ...body, ...extra }, auth: true });
    return [answer.status, answer.body.message as string];
  };
  t.deepEqual(await refused({}), [
    400,
    'Give the waiver an end: expires_at (epoch seconds) or expires_in (seconds), one of them',
  ]);
  t.deepEqual(await refused({ expires_at: now - 1 }), [
    400,
    `expires_at ${now - 1} is not in the future (now ${now})`,
  ]);
  t.deepEqual(await refused({ expires_in: 91 * 86400 }), [
    400,
    'a waiver lasts at most 90 days; change the criteria instead',
  ]);
  t.deepEqual(await refused({ expires_in: 60, promote_name: 'current' }), [
    403,
    'Invalid promote_name current',
  ]);
  t.deepEqual(await refused({ expires_in: 60, commit_hash: 'abc' }), [
    400,
    'commit_hash and distro_hash go together',
  ]);
  t.deepEqual(await refused({ expires_in: 60, reason: '' }), [
    400,
    "Errors detected: 1 {'reason': 'ensure this value has at least 1 characters'}",
  ]);
  t.deepEqual((await api.call('GET', `/api/waivers${q({ all: true })}`)).body, []);
});
