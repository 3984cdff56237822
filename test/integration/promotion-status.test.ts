/**
 * "Why not promoted?" over the API: the target's candidates from its source (the builders'
 * consistent votes, or another promote name), each required job's state, and the reason; the
 * same decision the promotion workflow takes. On SQLite and PostgreSQL.
 */
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument -- JSON responses, asserted field by field */
import test from 'ava';
import { NOW, q, startApi, type Api } from '../helpers/api.ts';
import { renderedDom, tableRows } from '../helpers/chromium.ts';
import { buildCandidate, criteriaIni } from '../helpers/promotion.ts';

const now = NOW / 1000;

/** A successful build of commit `n`, voted `consistent` by the builder at `now - 1000 + n`. */
const build = (api: Api, n: number): Promise<number> => buildCandidate(api, n, now - 1000 + n);
const vote = (api: Api, commitId: number, ciName: string, ciVote: boolean, timestamp = now - 10) =>
  api.db.models.CiVote.create({
    commitId,
    ciName,
    ciUrl: `https://ci.example/${ciName}/${commitId}`,
    ciVote,
    ciInProgress: false,
    timestamp,
    notes: '',
    user: null,
    component: null,
  });
const key = (n: number) => `${`c${n}`.padEnd(40, '0')}/${`d${n}`.padEnd(40, '0')}`;

for (const kind of ['sqlite', 'postgres'] as const) {
  test(`${kind}: promotion_status names each candidate's jobs and why it is or is not promoted`, async (t) => {
    const api = await startApi(kind, t, { now: () => NOW, ini: await criteriaIni() });
    const [one, two, three] = [await build(api, 1), await build(api, 2), await build(api, 3)];
    // From consistent: the newest candidate with the job's success is the one to promote.
    await vote(api, two, 'periodic-promote-to-testing', true);
    await vote(api, three, 'periodic-promote-to-testing', false);
    const testing = await api.call(
      'GET',
      `/api/promotion_status${q({ promote_name: 'tripleo-ci-testing' })}`,
    );
    t.is(testing.status, 200, testing.text);
    t.like(testing.body, {
      promote_name: 'tripleo-ci-testing',
      dry_run: false,
      current: null,
      promote: key(2),
    });
    t.deepEqual(
      testing.body.candidates.map((c: { candidate: string; reason: string }) => [c.candidate, c.reason]),
      [
        [key(3), 'failed: periodic-promote-to-testing'],
        [key(2), 'meets the criteria: promoted'],
        [key(1), 'no successful vote yet: periodic-promote-to-testing'],
      ],
    );
    // From a promote name: commits promoted to tripleo-ci-testing are current-tripleo's candidates.
    for (const id of [one, two])
      await api.db.models.Promotion.create({
        commitId: id,
        promotionName: 'tripleo-ci-testing',
        timestamp: now - 500 + id,
        user: null,
        component: null,
        aggregateHash: null,
      });
    await vote(api, two, 'periodic-fs001', true);
    await vote(api, two, 'periodic-fs035-rocky', true);
    const current = await api.call('GET', `/api/promotion_status${q({ promote_name: 'current-tripleo' })}`);
    t.is(current.status, 200, current.text);
    t.is(current.body.promote, key(2));
    t.deepEqual(current.body.candidates[0].jobs, [
      {
        job_id: 'periodic-fs001',
        state: 'passed',
        url: `https://ci.example/periodic-fs001/${two}`,
        timestamp: now - 10,
      },
      {
        job_id: 'periodic-fs035',
        state: 'alternative',
        by: 'periodic-fs035-rocky',
        url: `https://ci.example/periodic-fs035-rocky/${two}`,
        timestamp: now - 10,
      },
    ]);
    // A waiver counts for its target: candidate 1 then meets the criteria, but 2 is newer.
    await vote(api, one, 'periodic-fs001', true);
    const waived = await api.call('POST', '/api/waivers', {
      body: { promote_name: 'current-tripleo', job_id: 'periodic-fs035', reason: 'LP#1', expires_in: 600 },
      auth: true,
    });
    t.is(waived.status, 201, waived.text);
    const narrowed = await api.call(
      'GET',
      `/api/promotion_status${q({ promote_name: 'current-tripleo', commit_hash: key(1).split('/')[0]!, distro_hash: key(1).split('/')[1]! })}`,
    );
    t.is(narrowed.body.candidates.length, 1);
    t.like(narrowed.body.candidates[0], {
      candidate: key(1),
      meets: true,
      reason: `meets the criteria, but ${key(2)} is newer`,
    });
    t.like(narrowed.body.candidates[0].jobs[1], { state: 'waived', reason: 'LP#1', until: now + 600 });
  });
}

test('promotion_status without criteria, or for a name without criteria, says so', async (t) => {
  const off = await startApi('sqlite', t, { now: () => NOW });
  t.like(await off.call('GET', `/api/promotion_status${q({ promote_name: 'x' })}`), {
    status: 400,
    body: { message: 'Automatic promotion is off: [promotions] criteria_file is not set' },
  });
  const on = await startApi('sqlite', t, { now: () => NOW, ini: await criteriaIni() });
  const unknown = await on.call('GET', `/api/promotion_status${q({ promote_name: 'x' })}`);
  t.is(unknown.status, 400);
  t.regex(
    unknown.body.message,
    /^x has no promotion criteria in .*criteria\.yaml \(targets: tripleo-ci-testing, current-tripleo, rehearsal\)$/,
  );
});

test('promotion_status.html shows every target and why, as a person sees it in Chromium', async (t) => {
  const api = await startApi('sqlite', t, { now: () => NOW, ini: await criteriaIni() });
  await build(api, 1);
  const two = await build(api, 2);
  await vote(api, two, 'periodic-promote-to-testing', true);
  const dom = await renderedDom(`${api.url}/api/promotion_status.html`);
  t.regex(dom, /<h3>rehearsal \(dry run: decides, moves nothing\)<\/h3>/);
  t.deepEqual(tableRows(dom, 'candidates-tripleo-ci-testing'), [
    'c2000000/d2000000 passed meets the criteria: promoted',
    'c1000000/d1000000 missing no successful vote yet: periodic-promote-to-testing',
  ]);
  t.deepEqual(tableRows(dom, 'candidates-current-tripleo'), ['No candidate yet.']);
  t.deepEqual(tableRows(dom, 'candidates-rehearsal'), [
    'c2000000/d2000000 passed meets the criteria: would be promoted (dry run)',
    'c1000000/d1000000 missing no successful vote yet: periodic-promote-to-testing',
  ]);
});
