/**
 * What a caller sends cannot hurt the site: promote names that would replace the site's own
 * files or leave temporary links are refused before anything is touched.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NOW, PYSAML, startApi } from '../helpers/api.ts';

const promotion = (promote_name: string) => ({
  commit_hash: PYSAML.commit_hash,
  distro_hash: PYSAML.distro_hash,
  promote_name,
});

test('promote names that would damage the site are refused and touch nothing', async (t) => {
  const api = await startApi('sqlite', t);
  const repos = join(api.datadir, 'repos');
  await writeFile(join(repos, 'report.html'), '<html>the report</html>');
  await mkdir(join(repos, 'my-folder'));
  await writeFile(join(repos, 'notes'), 'a file the operator keeps here');
  const before = (await readdir(repos)).sort();
  const promotions = await api.db.models.Promotion.count();

  const refused: [string, number, RegExp][] = [
    ['report.html', 400, /the site writes a file or folder of this name itself/],
    ['status_report.csv', 400, /the site writes/],
    ['status_report.html', 400, /the site writes/],
    ['queue.html', 400, /the site writes/],
    ['styles.css', 400, /the site writes/],
    ['skiplist.txt', 400, /the site writes/],
    ['current_', 400, /the site writes/],
    ['consistent_', 400, /the site writes/],
    ['tripleo-ci_', 400, /the site writes/],
    ['report.html.1234.ab12cd34.tmp', 400, /the site writes/],
    ['2d', 400, /the site writes/],
    ['line\nbreak', 400, /control characters/],
    ['tab\there', 400, /control characters/],
    ['x'.repeat(300), 400, /longer than 254 bytes/],
    ['é'.repeat(128), 400, /longer than 254 bytes/],
    ['my-folder', 400, /holds a file or folder of that name/],
    ['notes', 400, /holds a file or folder of that name/],
    ['current', 403, /^Invalid promote_name current$/],
    ['a/b', 403, /^Invalid promote_name a\/b$/],
    ['..', 403, /^Invalid promote_name ..$/],
    ['', 403, /^Invalid promote_name $/],
  ];
  for (const [name, status, message] of refused) {
    const single = await api.call('POST', '/api/promote', { auth: true, body: promotion(name) });
    t.is(single.status, status, JSON.stringify(name));
    t.regex(String((single.body as { message: string }).message), message, JSON.stringify(name));
    // A batch with one such item is refused whole, before any link moves.
    const batch = await api.call('POST', '/api/promote-batch', {
      auth: true,
      body: [promotion('fine-name'), promotion(name)],
    });
    t.is(batch.status, status, `batch: ${JSON.stringify(name)}`);
  }
  t.deepEqual((await readdir(repos)).sort(), before);
  t.true((await lstat(join(repos, 'report.html'))).isFile());
  t.is(await api.db.models.Promotion.count(), promotions);

  // Names that are fine still work, a multi-byte one at the limit included.
  const ok = await api.call('POST', '/api/promote', { auth: true, body: promotion('é'.repeat(127)) });
  t.is(ok.status, 201);
  t.true((await lstat(join(repos, 'é'.repeat(127)))).isSymbolicLink());
  t.false(existsSync(join(repos, `${'é'.repeat(127)}_`)));
});

test('numbers out of the columns range are a 400 naming the parameter, not a database error', async (t) => {
  const api = await startApi('sqlite', t);
  for (const path of [
    '/api/promotions?offset=100000000000000000000',
    '/api/promotions?limit=2147483648',
    '/api/last_tested_repo?max_age=100000000000000000000',
  ]) {
    const answer = await api.call('GET', path);
    t.is(answer.status, 400, path);
    t.regex(answer.text, /ensure this value is (less|greater) than or equal to/, path);
  }
  t.is((await api.call('GET', '/api/promotions?offset=2147483647')).status, 200);
});

test('a body over max_body_bytes is a 413; an unexpected failure answers an error id only', async (t) => {
  const api = await startApi('sqlite', t, { ini: '[api]\nmax_body_bytes=4096\n' });
  const big = { ...promotion('fine'), notes: 'x'.repeat(10_000) };
  const tooLarge = await api.call('POST', '/api/promote', { auth: true, body: big });
  t.is(tooLarge.status, 413);
  t.regex(tooLarge.text, /larger than 4096 bytes/);
  t.is(await api.db.models.Promotion.count({ where: { promotionName: 'fine' } }), 0);

  // A table goes away under the API: a 500 that tells the caller an id and nothing else.
  await api.db.sequelize.getQueryInterface().dropTable('promotions');
  const failed = await api.call('GET', '/api/promotions');
  t.is(failed.status, 500);
  t.regex(
    String((failed.body as { message: string }).message),
    /^Internal Server Error \(error id [0-9a-f]{16}\)$/,
  );
});

test('GraphQL queries over the alias or cost limits are refused before they run', async (t) => {
  const api = await startApi('sqlite', t);
  const gql = (query: string) => api.call('POST', '/api/graphql', { body: { query } });
  const aliased = (n: number) => Array.from({ length: n }, (_, i) => `a${i}: commits { id }`).join(' ');
  const many = await gql(`{ ${aliased(200)} }`);
  t.is(many.status, 400);
  t.regex(many.text, /the query has 200 aliases, more than 30/);
  // Beyond 5,000 tokens the parser itself stops.
  const huge = await gql(`{ ${aliased(2000)} }`);
  t.is(huge.status, 400);
  t.regex(huge.text, /more than 5000 tokens/);
  const costly = Array.from({ length: 12 }, (_, i) => `p${i}: packageStatus { projectName status }`).join(
    ' ',
  );
  const dear = await gql(`{ ${costly} }`);
  t.is(dear.status, 400);
  t.regex(dear.text, /the query may cost 36000, more than 25000/);
  // Fragments count each time they are spread.
  const spread = await gql(
    `query { ${Array.from({ length: 31 }, (_, i) => `c${i}: commits { ...f }`).join(' ')} } fragment f on Commit { id }`,
  );
  t.regex(spread.text, /31 aliases/);
  const fine = await gql('{ commits(limit: 2) { projectName status } civote { ciName } }');
  t.is(fine.status, 200);
  t.is((fine.body as { data: { commits: unknown[] } }).data.commits.length, 2);
});

test('the same question asked many times at once is answered from one query', async (t) => {
  const api = await startApi('sqlite', t, { readCacheMs: 1_000 });
  const reads = api.db.reads;
  const asked: string[] = [];
  const all = reads.all.bind(reads);
  reads.all = (sql, params) => {
    asked.push(sql);
    return all(sql, params);
  };
  const status = `/api/repo_status?commit_hash=${PYSAML.commit_hash}&distro_hash=${PYSAML.distro_hash}`;
  const answers = await Promise.all(Array.from({ length: 20 }, () => api.call('GET', status)));
  t.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
  t.is(new Set(answers.map((a) => a.text)).size, 1);
  t.true((answers[0]?.body as unknown[]).length > 0);
  // One commit lookup and one vote query, not twenty of each.
  t.is(asked.filter((sql) => sql.includes('FROM civotes')).length, 1);
  t.is(asked.filter((sql) => sql.includes('FROM commits')).length, 1);
});

test("a vote drops the answers about its commit and the newest-vote answers, not another commit's", async (t) => {
  const api = await startApi('sqlite', t, { now: () => NOW, readCacheMs: 60_000 });
  const statusOf = (c: { commit_hash: string; distro_hash: string }) =>
    `/api/repo_status?commit_hash=${c.commit_hash}&distro_hash=${c.distro_hash}`;
  const count = async (path: string) => ((await api.call('GET', path)).body as unknown[]).length;
  const outside = (commitId: number, ciName: string) =>
    api.db.models.CiVote.create({
      commitId,
      ciName,
      ciUrl: '',
      ciVote: true,
      ciInProgress: false,
      timestamp: NOW / 1000,
      notes: '',
      user: null,
      component: null,
    });
  // A second successful commit, whose answer a vote on PYSAML must leave alone.
  await api.db.models.Commit.create({
    id: 900,
    type: 'rpm',
    projectName: 'python-other',
    commitHash: 'f'.repeat(40),
    distroHash: PYSAML.distro_hash,
    extendedHash: null,
    dtCommit: 1441634100,
    dtDistro: 1431949433,
    dtExtended: 0,
    dtBuild: 1441635100,
    status: 'SUCCESS',
    component: null,
    flags: 0,
  });
  const other = { commit_hash: 'f'.repeat(40), distro_hash: PYSAML.distro_hash };
  const mine = await count(statusOf(PYSAML));
  const theirs = await count(statusOf(other));
  const last = await api.call('GET', '/api/last_tested_repo?max_age=0');
  // Rows written behind the API: the cached answers still show what they showed.
  await outside(900, 'behind-other');
  await outside(PYSAML.id, 'behind-mine');
  t.is(await count(statusOf(other)), theirs);
  const reported = await api.call('POST', '/api/report_result', {
    auth: true,
    body: {
      job_id: 'newest',
      commit_hash: PYSAML.commit_hash,
      distro_hash: PYSAML.distro_hash,
      url: 'http://ci.example/n',
      timestamp: NOW / 1000 + 10,
      success: true,
    },
  });
  t.is(reported.status, 201);
  t.is(await count(statusOf(PYSAML)), mine + 2, "the vote's commit: answered again");
  t.is(await count(statusOf(other)), theirs, 'another commit: still the kept answer');
  const jobOf = (r: { body: unknown }) => (r.body as { job_id: string }).job_id;
  const newest = await api.call('GET', '/api/last_tested_repo?max_age=0');
  t.is(jobOf(newest), 'newest', 'the newest-vote answer: answered again');
  t.not(jobOf(newest), jobOf(last));
});

test('polled answers are kept for read_cache_ms, and dropped at once by a write through the API', async (t) => {
  let now = NOW;
  const api = await startApi('sqlite', t, { now: () => now, readCacheMs: 1_000 });
  const status = `/api/repo_status?commit_hash=${PYSAML.commit_hash}&distro_hash=${PYSAML.distro_hash}`;
  const votes = async () => ((await api.call('GET', status)).body as unknown[]).length;
  const before = await votes();
  // A vote written by another process (a builder, another API) shows once the answer expires.
  await api.db.models.CiVote.create({
    commitId: PYSAML.id,
    ciName: 'outside',
    ciUrl: '',
    ciVote: true,
    ciInProgress: false,
    timestamp: NOW / 1000,
    notes: '',
    user: null,
    component: null,
  });
  t.is(await votes(), before);
  // A request refused for its credentials wrote nothing: it drops nothing either.
  const wrong = `Basic ${Buffer.from('ci:wrong').toString('base64')}`;
  t.is((await api.call('POST', '/api/report_result', { auth: wrong, body: {} })).status, 401);
  t.is(await votes(), before);
  now += 1_001;
  t.is(await votes(), before + 1);
  // A vote through the API shows on the next request.
  const reported = await api.call('POST', '/api/report_result', {
    auth: true,
    body: {
      job_id: 'through-api',
      commit_hash: PYSAML.commit_hash,
      distro_hash: PYSAML.distro_hash,
      url: 'http://ci.example/2',
      timestamp: NOW / 1000,
      success: true,
    },
  });
  t.is(reported.status, 201);
  t.is(await votes(), before + 2);
});
