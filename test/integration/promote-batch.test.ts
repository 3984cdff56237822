/**
 * `POST /api/promote-batch` as the promoteBatch saga on the harness's Temporal server: a batch
 * lands whole, and when its third of four promotions fails, every step done is undone in reverse
 * (links back to their previous targets, rows deleted), the compensations show in the workflow
 * history, and the API answers with the failing step's status.
 */
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument -- JSON responses */
import test from 'ava';
import { lstat, mkdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addComponentBuild, NOW, PYSAML, startApi } from '../helpers/api.ts';
import { recordHistory } from '../helpers/temporal.ts';

const item = (promote_name: string) => ({
  commit_hash: PYSAML.commit_hash,
  distro_hash: PYSAML.distro_hash,
  promote_name,
});
const TARGET = `3a/93/${PYSAML.commit_hash}_024e24f0`;

const linkOf = async (path: string): Promise<string | undefined> =>
  (await lstat(path).catch(() => undefined))?.isSymbolicLink() ? readlink(path) : undefined;

test('a batch promotes every item and answers with the last one', async (t) => {
  const api = await startApi('sqlite', t, { temporal: true });
  const response = await api.call('POST', '/api/promote-batch', {
    auth: true,
    body: [item('tripleo-ci-testing'), item('current-tripleo')],
  });
  t.is(response.status, 201, JSON.stringify(response.body));
  t.like(response.body, {
    promote_name: 'current-tripleo',
    user: 'ci',
    timestamp: NOW / 1000,
    repo_hash: `${PYSAML.commit_hash}_024e24f0`,
  });
  const repos = join(api.datadir, 'repos');
  t.is(await linkOf(join(repos, 'tripleo-ci-testing')), TARGET);
  t.is(await linkOf(join(repos, 'current-tripleo')), TARGET);
  t.is(await api.db.models.Promotion.count({ where: { user: 'ci' } }), 2);
});

test('when the third of four promotions fails, links and rows are exactly as before the call', async (t) => {
  const api = await startApi('sqlite', t, { temporal: true });
  const repos = join(api.datadir, 'repos');
  // Before: "first" points elsewhere, "second" does not exist, and a folder with a file in it
  // sits where the switch of "third" makes its temporary link: the third step fails on the file
  // system. (A folder at "third" itself is refused before the saga starts.)
  await mkdir(join(repos, 'old', 'target'), { recursive: true });
  await symlink('old/target', join(repos, 'first'));
  await mkdir(join(repos, 'third_'));
  await writeFile(join(repos, 'third_', 'keep'), 'not a link');
  const rowsBefore = (await api.db.models.Promotion.findAll({ order: [['id', 'ASC']] })).map((r) =>
    r.get({ plain: true }),
  );

  const response = await api.call('POST', '/api/promote-batch', {
    auth: true,
    body: [item('first'), item('second'), item('third'), item('fourth')],
  });
  t.is(response.status, 500);
  t.regex(
    response.body.message,
    /^Symlink creation failed with error: .*All previously created symlinks have been rolled back\.$/,
  );

  t.is(await linkOf(join(repos, 'first')), 'old/target');
  t.is(await linkOf(join(repos, 'second')), undefined);
  t.is(await lstat(join(repos, 'second')).catch(() => 'absent'), 'absent');
  t.is(await lstat(join(repos, 'third')).catch(() => 'absent'), 'absent');
  t.true((await lstat(join(repos, 'third_'))).isDirectory());
  t.is(await lstat(join(repos, 'fourth')).catch(() => 'absent'), 'absent');
  const rowsAfter = (await api.db.models.Promotion.findAll({ order: [['id', 'ASC']] })).map((r) =>
    r.get({ plain: true }),
  );
  t.deepEqual(rowsAfter, rowsBefore);

  // The history: the steps, the failed third switch, then the compensations in reverse.
  const runs = [];
  for await (const w of api.client!.workflow.list({
    query: `WorkflowType = 'promoteBatch' AND TaskQueue = '${api.taskQueue ?? ''}'`,
  }))
    runs.push(w.workflowId);
  t.is(runs.length, 1);
  const history = await api.client!.workflow.getHandle(runs[0] ?? '').fetchHistory();
  await recordHistory(api.client!, runs[0] ?? '', 'promote-batch-rolled-back');
  const activities = (history.events ?? []).flatMap((e) => {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    return name ? [name] : [];
  });
  t.deepEqual(activities, [
    'switchPromotion',
    'recordPromotion',
    'switchPromotion',
    'recordPromotion',
    'switchPromotion',
    'deletePromotion',
    'restorePromotion',
    'deletePromotion',
    'restorePromotion',
  ]);
});

test('every item is checked before anything is touched', async (t) => {
  const api = await startApi('sqlite', t, { temporal: true });
  const reserved = await api.call('POST', '/api/promote-batch', {
    auth: true,
    body: [item('fine'), item('consistent')],
  });
  t.is(reserved.status, 403);
  t.is(await linkOf(join(api.datadir, 'repos', 'fine')), undefined);
  const unknown = await api.call('POST', '/api/promote-batch', {
    auth: true,
    body: [item('fine'), { commit_hash: 'abc', distro_hash: 'def', promote_name: 'x' }],
  });
  t.is(unknown.status, 400);
  t.regex(unknown.body.message, /not found for abc_def_None/);
  t.is((await api.call('POST', '/api/promote-batch', { auth: true, body: [] })).status, 400);
  t.is((await api.call('POST', '/api/promote-batch', { auth: true, body: item('x') })).status, 400);
  t.is((await api.call('POST', '/api/promote-batch', { body: [item('x')] })).status, 401);
  t.is(await api.db.models.Promotion.count(), 1);
});

test('in component mode the batch ends with one aggregate, for the last name, stored on the last row', async (t) => {
  const api = await startApi('sqlite', t, { temporal: true, ini: 'use_components=true\n' });
  const hash = 'b0b1c2d3e4f5061728394a5b6c7d8e9f00112233';
  const distro = 'd'.repeat(40);
  await addComponentBuild(api, hash, '[delorean-component-tripleo]\n');
  const body = ['first-name', 'last-name'].map((promote_name) => ({
    commit_hash: hash,
    distro_hash: distro,
    promote_name,
  }));
  const response = await api.call('POST', '/api/promote-batch', { auth: true, body });
  t.is(response.status, 201, response.text);
  t.is(typeof response.body.aggregate_hash, 'string');
  const rows = (await api.db.models.Promotion.findAll({ where: { user: 'ci' }, order: [['id', 'ASC']] })).map(
    (r) => r.get({ plain: true }),
  );
  t.deepEqual(
    rows.map((r) => [r.promotionName, r.aggregateHash]),
    [
      ['first-name', null],
      ['last-name', response.body.aggregate_hash],
    ],
  );
  t.is(
    await linkOf(join(api.datadir, 'repos', 'component', 'tripleo', 'last-name')),
    `b0/b1/${hash}_dddddddd`,
  );
});
