/**
 * The API over HTTP, in process, on a database made by DLRN (its DDL and rows in the style of
 * DLRN's test samples), on SQLite, PostgreSQL and MariaDB: each endpoint's answer and each of
 * its error codes, as dlrn-spec §7.2 gives them.
 */
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call -- the responses are JSON of many shapes, each asserted field by field */
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { createHash } from 'node:crypto';
import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { FIXTURE_ROWS } from '../fixtures/dlrn-database.ts';
import { addComponentBuild, NOW, PYSAML, q, startApi, TRIPLEO } from '../helpers/api.ts';
import { DATABASE_KINDS, type DatabaseKind } from '../helpers/services.ts';

/** One test per database engine. */
const forEachKind = (
  title: string,
  body: (t: ExecutionContext, kind: DatabaseKind) => Promise<void>,
): void => {
  for (const kind of DATABASE_KINDS) test(`${kind}: ${title}`, (t) => body(t, kind));
};

for (const kind of DATABASE_KINDS) {
  test(`${kind}: health, repo_status, last_tested_repo, report_result, promotions on a DLRN database`, async (t) => {
    const api = await startApi(kind, t);
    t.deepEqual((await api.call('GET', '/api/health')).body, { result: 'ok' });

    const status = await api.call(
      'GET',
      `/api/repo_status${q({ commit_hash: PYSAML.commit_hash, distro_hash: PYSAML.distro_hash })}`,
    );
    t.is(status.status, 200);
    t.deepEqual(
      status.body.map((v: { job_id: string; success: boolean; in_progress: boolean }) => [
        v.job_id,
        v.success,
        v.in_progress,
      ]),
      [
        ['current-ci', true, false],
        ['consistent', false, true],
      ],
    );
    t.like(status.body[0], {
      timestamp: 1441635095,
      url: 'http://ci.example/1',
      user: 'foo',
      extended_hash: null,
    });

    const last = await api.call('GET', `/api/last_tested_repo${q({ max_age: 0, success: 'true' })}`);
    t.is(last.status, 200);
    t.like(last.body, {
      commit_hash: PYSAML.commit_hash,
      job_id: 'current-ci',
      success: true,
      in_progress: false,
    });

    const reported = await api.call('POST', '/api/report_result', {
      auth: true,
      body: {
        commit_hash: PYSAML.commit_hash,
        distro_hash: PYSAML.distro_hash,
        job_id: 'phase2',
        url: 'http://ci/2',
        timestamp: 1441901000,
        success: 'yes',
      },
    });
    t.is(reported.status, 201, JSON.stringify(reported.body));
    t.like(reported.body, {
      job_id: 'phase2',
      success: true,
      in_progress: false,
      user: 'ci',
      notes: '',
      aggregate_hash: null,
    });
    t.is(await api.db.models.CiVote.count({ where: { ciName: 'phase2', user: 'ci' } }), 1);

    const promotions = await api.call('GET', '/api/promotions');
    t.is(promotions.status, 200);
    t.like(promotions.body[0], {
      promote_name: 'current-passed-ci',
      repo_hash: `${PYSAML.commit_hash}_024e24f0`,
      repo_url: `http://trunk.example/centos9/3a/93/${PYSAML.commit_hash}_024e24f0`,
    });

    const promoted = await api.call('POST', '/api/promote', {
      auth: true,
      body: {
        commit_hash: PYSAML.commit_hash,
        distro_hash: PYSAML.distro_hash,
        promote_name: 'tripleo-ci-testing',
      },
    });
    t.is(promoted.status, 201, JSON.stringify(promoted.body));
    t.like(promoted.body, {
      promote_name: 'tripleo-ci-testing',
      user: 'ci',
      timestamp: NOW / 1000,
      aggregate_hash: null,
    });
    t.is(
      await readlink(join(api.datadir, 'repos', 'tripleo-ci-testing')),
      `3a/93/${PYSAML.commit_hash}_024e24f0`,
    );
    t.is(await api.db.models.Promotion.count({ where: { promotionName: 'tripleo-ci-testing' } }), 1);
    // promote answers with a float timestamp (DLRN's time.time()); the promotions list and
    // votes with the stored integers, as DLRN 0.26.1 does.
    t.regex(promoted.text, /"timestamp":1441901490\.0[,}]/);
    t.regex(
      (await api.call('GET', '/api/promotions')).text,
      /"timestamp":1441901490,.*"timestamp":1441635098,/,
    );
    t.regex(status.text, /"timestamp":1441635095,/);
  });
}

forEachKind('authentication: POST needs Basic credentials of a users row; GET does not', async (t, kind) => {
  const api = await startApi(kind, t);
  const none = await api.call('POST', '/api/health');
  t.is(none.status, 401);
  t.regex(none.headers.get('www-authenticate') ?? '', /^Basic realm=/);
  const bad = await fetch(`${api.url}/api/health`, {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from('ci:wrong').toString('base64')}` },
  });
  t.is(bad.status, 401);
  const unknown = await fetch(`${api.url}/api/health`, {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from('nobody:s3cret').toString('base64')}` },
  });
  t.is(unknown.status, 401);
  t.deepEqual((await api.call('POST', '/api/health', { auth: true })).body, { result: 'ok' });
  // Auth runs before the JSON gate: no credentials and no JSON is a 401, not a 415.
  t.is((await api.call('POST', '/api/promote', { body: 'x=1', type: 'text/plain' })).status, 401);
  t.is((await api.call('POST', '/api/promote', { body: 'x=1', type: 'text/plain', auth: true })).status, 415);
});

forEachKind('bad or missing parameters are 400s that name them, never 500s', async (t, kind) => {
  const api = await startApi(kind, t);
  const missing = await api.call('GET', `/api/repo_status${q({ commit_hash: 'abc' })}`);
  t.is(missing.status, 400);
  t.regex(missing.body.message, /Errors detected: 1 \{'distro_hash': 'field required'\}/);
  const unknown = await api.call('GET', `/api/repo_status${q({ commit_hash: 'abc', distro_hash: 'def' })}`);
  t.deepEqual(unknown, {
    ...unknown,
    status: 400,
    body: { message: 'commit_hash+distro_hash+extended_hash combination not found' },
  });
  t.is((await api.call('GET', `/api/last_tested_repo${q({ max_age: -1 })}`)).status, 400);
  t.regex(
    (await api.call('GET', `/api/last_tested_repo${q({ max_age: 'soon' })}`)).body.message,
    /'max_age': 'value is not a valid integer'/,
  );
  t.deepEqual(
    (await api.call('GET', `/api/last_tested_repo${q({ max_age: 0, sequential_mode: true })}`)).body,
    {
      message: 'Missing parameter previous_job_id',
    },
  );
  const badBool = await api.call('POST', '/api/report_result', {
    auth: true,
    body: { commit_hash: 'a', distro_hash: 'b', job_id: 'j', url: '', timestamp: 1, success: 'maybe' },
  });
  t.is(badBool.status, 400);
  t.regex(badBool.body.message, /'success': 'value could not be parsed to a boolean'/);
  const neither = await api.call('POST', '/api/report_result', {
    auth: true,
    body: { job_id: 'j', url: '', timestamp: 1, success: true },
  });
  t.regex(
    neither.body.message,
    /Either the aggregate hash or both commit_hash and distro_hash must be provided/,
  );
  const agg = await api.call('POST', '/api/report_result', {
    auth: true,
    body: { aggregate_hash: 'nope', job_id: 'j', url: '', timestamp: 1, success: true },
  });
  t.deepEqual(agg.body, { message: 'aggregate_hash not found' });
  const notJson = await api.call('POST', '/api/report_result', {
    auth: true,
    body: '{"a":',
    type: 'application/json',
  });
  t.is(notJson.status, 400);
  t.is(
    (await api.call('GET', `/api/metrics/builds${q({ start_date: '2015-13-01', end_date: '2015-09-10' })}`))
      .body.message,
    'Invalid date format, it must be YYYY-mm-dd',
  );
  t.is((await api.call('GET', '/api/nothing-here')).status, 404);
  t.is((await api.call('DELETE', '/api/health')).status, 405);
});

forEachKind(
  'GET parameters may come in a JSON body (deprecated in DLRN, still accepted)',
  async (t, kind) => {
    const api = await startApi(kind, t);
    // fetch refuses a GET with a body; requests (dlrnapi_client's library) sends one.
    const payload = JSON.stringify({
      commit_hash: PYSAML.commit_hash,
      distro_hash: PYSAML.distro_hash,
      success: false,
    });
    const response = await new Promise<{ status: number; body: { job_id: string }[] }>((done, fail) => {
      const req = request(
        `${api.url}/api/repo_status`,
        {
          method: 'GET',
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
          res.on('end', () =>
            done({ status: res.statusCode ?? 0, body: JSON.parse(text) as { job_id: string }[] }),
          );
        },
      );
      req.on('error', fail);
      req.end(payload);
    });
    t.is(response.status, 200);
    t.deepEqual(
      response.body.map((v: { job_id: string }) => v.job_id),
      ['consistent'],
    );
  },
);

forEachKind(
  "last_tested_repo follows DLRN's fallbacks and POST records an in-progress vote",
  async (t, kind) => {
    const api = await startApi(kind, t);
    // An unknown job falls back to any vote: the newest is the consistent one.
    t.like((await api.call('GET', `/api/last_tested_repo${q({ max_age: 0, job_id: 'other-ci' })}`)).body, {
      job_id: 'consistent',
    });
    // In sequential mode there is no fallback.
    t.deepEqual(
      (
        await api.call(
          'GET',
          `/api/last_tested_repo${q({ max_age: 0, sequential_mode: 1, previous_job_id: 'other-ci' })}`,
        )
      ).body,
      {
        message: 'No vote found',
      },
    );
    // max_age in hours before "now": the fixture's 2015 votes are too old for 24 hours.
    t.is((await api.call('GET', `/api/last_tested_repo${q({ max_age: 24 })}`)).status, 400);
    const posted = await api.call('POST', '/api/last_tested_repo', {
      auth: true,
      body: { max_age: 0, success: true, reporting_job_id: 'phase2-ci' },
    });
    t.is(posted.status, 201);
    t.like(posted.body, {
      commit_hash: PYSAML.commit_hash,
      job_id: 'phase2-ci',
      success: false,
      in_progress: true,
      user: 'ci',
      timestamp: NOW / 1000,
    });
  },
);

forEachKind(
  'promote refuses reserved names, paths out of the repos directory, unknown and purged commits',
  async (t, kind) => {
    const api = await startApi(kind, t);
    const body = (extra: object) => ({
      commit_hash: PYSAML.commit_hash,
      distro_hash: PYSAML.distro_hash,
      ...extra,
    });
    t.deepEqual(
      (await api.call('POST', '/api/promote', { auth: true, body: body({ promote_name: 'current' }) })).body,
      {
        message: 'Invalid promote_name current',
      },
    );
    t.is(
      (await api.call('POST', '/api/promote', { auth: true, body: body({ promote_name: '../escape' }) }))
        .status,
      403,
    );
    t.is(
      (await api.call('POST', '/api/promote', { auth: true, body: body({ promote_name: 'a/b' }) })).status,
      403,
    );
    t.false(existsSync(join(api.datadir, 'escape')));
    t.deepEqual(
      (await api.call('POST', '/api/promote', { auth: true, body: { promote_name: 'x', commit_hash: 'a' } }))
        .body,
      {
        message: 'Both commit_hash and distro_hash must be specified.',
      },
    );
    t.is(
      (
        await api.call('POST', '/api/promote', {
          auth: true,
          body: { promote_name: 'x', commit_hash: 'a', distro_hash: 'b' },
        })
      ).status,
      400,
    );
    await api.db.models.Commit.update({ flags: 2 }, { where: { id: PYSAML.id } });
    const purged = await api.call('POST', '/api/promote', { auth: true, body: body({ promote_name: 'x' }) });
    t.is(purged.status, 410);
    t.is(purged.body.message, 'commit_hash+distro_hash+extended_hash has been purged, cannot promote it');
    t.is(await api.db.models.Promotion.count(), 1);
  },
);

forEachKind('promotions filters, limit and the 100-row cap; components', async (t, kind) => {
  const api = await startApi(kind, t);
  for (let i = 0; i < 120; i++) {
    await api.db.models.Promotion.create({
      commitId: PYSAML.id,
      promotionName: `p${i}`,
      timestamp: 1441700000 + i,
      user: 'ci',
      component: i % 2 ? 'tripleo' : null,
      aggregateHash: null,
    });
  }
  const capped = await api.call('GET', `/api/promotions${q({ limit: 500 })}`);
  t.is(capped.body.length, 100);
  t.is(capped.body[0].promote_name, 'p119', 'newest first');
  t.is((await api.call('GET', '/api/promotions')).body.length, 121, 'no limit unless one is given');
  t.deepEqual((await api.call('GET', `/api/promotions${q({ limit: 0 })}`)).body, []);
  t.is((await api.call('GET', `/api/promotions${q({ offset: 119 })}`)).body.length, 2);
  t.is((await api.call('GET', `/api/promotions${q({ promote_name: 'p7' })}`)).body.length, 1);
  t.is((await api.call('GET', `/api/promotions${q({ component: 'tripleo' })}`)).body.length, 60);
  t.is((await api.call('GET', `/api/promotions${q({ commit_hash: PYSAML.commit_hash })}`)).status, 400);
  t.deepEqual((await api.call('GET', '/api/components')).body, { components: ['tripleo'] });
});

forEachKind(
  'metrics/builds counts builds in the dates; recheck_package deletes a failed build only',
  async (t, kind) => {
    const api = await startApi(kind, t);
    t.deepEqual(
      (await api.call('GET', `/api/metrics/builds${q({ start_date: '2015-09-07', end_date: '2015-09-08' })}`))
        .body,
      {
        succeeded: 1,
        failed: 1,
        total: 2,
      },
    );
    t.deepEqual(
      (
        await api.call(
          'GET',
          `/api/metrics/builds${q({ start_date: '2015-09-07', end_date: '2015-09-08', package_name: TRIPLEO.project_name })}`,
        )
      ).body,
      { succeeded: 0, failed: 1, total: 1 },
    );
    t.is(
      (
        await api.call('POST', `/api/recheck_package${q({ package_name: PYSAML.project_name })}`, {
          auth: true,
        })
      ).status,
      409,
    );
    t.is(
      (await api.call('POST', `/api/recheck_package${q({ package_name: 'nope' })}`, { auth: true })).status,
      400,
    );
    const rechecked = await api.call(
      'POST',
      `/api/recheck_package${q({ package_name: TRIPLEO.project_name })}`,
      { auth: true },
    );
    t.is(rechecked.status, 201);
    t.deepEqual(rechecked.body, { result: 'ok' });
    t.is(await api.db.models.Commit.count({ where: { id: TRIPLEO.id } }), 0);
  },
);

forEachKind(
  'agg_status lists the votes of an aggregate hash, an empty list for an unknown one',
  async (t, kind) => {
    const api = await startApi(kind, t);
    const agg = FIXTURE_ROWS.civotes_agg[0];
    t.like((await api.call('GET', `/api/agg_status${q({ aggregate_hash: agg.ref_hash })}`)).body[0], {
      aggregate_hash: agg.ref_hash,
      job_id: 'phase1-ci',
      success: true,
      in_progress: false,
    });
    t.deepEqual((await api.call('GET', `/api/agg_status${q({ aggregate_hash: 'unknown' })}`)).body, []);
  },
);

forEachKind(
  'with protect_read_endpoints, GETs need credentials too; /metrics never does',
  async (t, kind) => {
    const api = await startApi(kind, t, { ini: '[api]\nprotect_read_endpoints=true\n' });
    const anonymous = await api.call('GET', '/api/health');
    t.is(anonymous.status, 401);
    t.regex(anonymous.headers.get('www-authenticate') ?? '', /^Basic/);
    t.deepEqual((await api.call('GET', '/api/health', { auth: true })).body, { result: 'ok' });
    t.is((await fetch(`${api.url}/metrics`)).status, 200);
  },
);

test('sqlite: in component mode, promote links inside the component and records the aggregate hash', async (t) => {
  const api = await startApi('sqlite', t, { ini: 'use_components=true\n' });
  const hash = 'a0b1c2d3e4f5061728394a5b6c7d8e9f00112233';
  const distro = 'd'.repeat(40);
  const repoFile =
    '[delorean-component-tripleo]\nname=tripleo\nbaseurl=http://trunk.example/centos9/component/tripleo\n';
  await addComponentBuild(api, hash, repoFile);
  const repos = join(api.datadir, 'repos');

  const promoted = await api.call('POST', '/api/promote', {
    auth: true,
    body: { commit_hash: hash, distro_hash: distro, promote_name: 'tripleo-ci-testing' },
  });
  t.is(promoted.status, 201, promoted.text);
  const expected = createHash('md5').update(`${repoFile}\n`).digest('hex');
  t.like(promoted.body, { component: 'tripleo', aggregate_hash: expected });
  t.is(await readlink(join(repos, 'component', 'tripleo', 'tripleo-ci-testing')), `a0/b1/${hash}_dddddddd`);
  t.is(await readFile(join(repos, 'tripleo-ci-testing', 'delorean.repo'), 'utf8'), `${repoFile}\n`);
  t.is(
    (await api.db.models.Promotion.findOne({ where: { promotionName: 'tripleo-ci-testing' } }))?.getDataValue(
      'aggregateHash',
    ),
    expected,
  );
  // A vote on the aggregate is now accepted.
  const vote = await api.call('POST', '/api/report_result', {
    auth: true,
    body: { aggregate_hash: expected, job_id: 'phase1', url: '', timestamp: 1441901000, success: true },
  });
  t.is(vote.status, 201);
  t.deepEqual((await api.call('GET', '/api/components')).body, { components: ['tripleo'] });
});

test('sqlite: Basic credentials are refused when [api] auth_drivers lacks DBAuthentication', async (t) => {
  const api = await startApi('sqlite', t, { ini: '[api]\nauth_drivers=KrbAuthentication\n' });
  const refused = await api.call('POST', '/api/health', { auth: true });
  t.is(refused.status, 401);
  t.regex(refused.body.message, /auth_drivers lacks DBAuthentication/);
  t.is((await api.call('GET', '/api/health')).status, 200);
});

test('last_tested_repo picks the first recorded of votes with the same time, as DLRN', async (t) => {
  const api = await startApi('sqlite', t);
  const vote = (commitId: number, ciName: string) =>
    api.db.models.CiVote.create({
      commitId,
      ciName,
      ciUrl: '',
      ciVote: true,
      ciInProgress: false,
      timestamp: 1900000000,
      notes: '',
      user: null,
      component: null,
    });
  await vote(PYSAML.id, 'first');
  await vote(PYSAML.id, 'second');
  const answer = await api.call('GET', '/api/last_tested_repo?max_age=0&success=true');
  t.is(answer.status, 200, answer.text);
  t.like(answer.body, { job_id: 'first', commit_hash: PYSAML.commit_hash, timestamp: 1900000000 });
});
