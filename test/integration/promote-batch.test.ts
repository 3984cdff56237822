/**
 * `POST /api/promote-batch` as the promoteBatch saga on the harness's Temporal server: a batch
 * lands whole, one row per item; when its third of four promotions fails, every step done is
 * undone in reverse (its own row deleted, its link back), the undos show in the workflow
 * history, and the API answers with the failing step's message and the item it was on.
 */
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument -- JSON responses */
import test from 'ava';
import { lstat, mkdir, readdir, readlink, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { addComponentBuild, NOW, PYSAML, startApi, type Api } from '../helpers/api.ts';
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

/**
 * A real failure of the third item's step: the database refuses its row (a SQLite trigger, as a
 * constraint a site added would), so its link, switched first, is put back by the step itself.
 */
const refuseRowsNamed = async (api: Api, pattern: string): Promise<void> => {
  await api.db.sequelize.query(
    `CREATE TRIGGER refuse_rows BEFORE INSERT ON promotions WHEN NEW.promotion_name GLOB '${pattern}' ` +
      `BEGIN SELECT RAISE(ABORT, 'promotion refused by the site''s trigger'); END`,
  );
};

test('when the third of four promotions fails, links and rows are exactly as before the call', async (t) => {
  const api = await startApi('sqlite', t, { temporal: true });
  const repos = join(api.datadir, 'repos');
  // Before: "first" points elsewhere, "second" does not exist; the database refuses "third".
  await mkdir(join(repos, 'old', 'target'), { recursive: true });
  await symlink('old/target', join(repos, 'first'));
  await refuseRowsNamed(api, 'third');
  const rowsBefore = (await api.db.models.Promotion.findAll({ order: [['id', 'ASC']] })).map((r) =>
    r.get({ plain: true }),
  );

  const response = await api.call('POST', '/api/promote-batch', {
    auth: true,
    body: [item('first'), item('second'), item('third'), item('fourth')],
  });
  t.is(response.status, 500);
  t.is(
    response.body.message,
    "Validation error: SQLITE_CONSTRAINT: promotion refused by the site's trigger (item 3 of 4: promote_name third, " +
      `commit_hash ${PYSAML.commit_hash}, distro_hash ${PYSAML.distro_hash}). ` +
      'All previously created symlinks have been rolled back.',
  );
  t.false(response.text.includes(api.datadir), 'no server path in the answer');

  t.is(await linkOf(join(repos, 'first')), 'old/target');
  for (const name of ['second', 'third', 'fourth'])
    t.is(await lstat(join(repos, name)).catch(() => 'absent'), 'absent', name);
  t.deepEqual(
    (await readdir(repos)).filter((f) => f.endsWith('.tmp')),
    [],
    'no temporary link left',
  );
  const rowsAfter = (await api.db.models.Promotion.findAll({ order: [['id', 'ASC']] })).map((r) =>
    r.get({ plain: true }),
  );
  t.deepEqual(rowsAfter, rowsBefore);

  // The history: a step per item, the third failed, then the undos in reverse.
  const runs = [];
  for await (const w of api.client!.workflow.list({
    query: `WorkflowType = 'promoteBatch' AND TaskQueue = '${api.taskQueue ?? ''}'`,
  }))
    runs.push(w.workflowId);
  t.is(runs.length, 1);
  const history = await api.client!.workflow.getHandle(runs[0] ?? '').fetchHistory();
  await recordHistory(api.client!, runs[0] ?? '', 'promote-batch-item-rolled-back');
  const activities = (history.events ?? []).flatMap((e) => {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    return name ? [name] : [];
  });
  t.deepEqual(activities, [
    'promoteItem',
    'promoteItem',
    'promoteItem',
    'undoPromoteItem',
    'undoPromoteItem',
  ]);
});

test('a failing batch keeps a promotion of the same commit and name made in the same second by the same user', async (t) => {
  const api = await startApi('sqlite', t, { temporal: true });
  const repos = join(api.datadir, 'repos');
  await refuseRowsNamed(api, 'refused');
  const single = await api.call('POST', '/api/promote', { auth: true, body: item('shared') });
  t.is(single.status, 201);
  const [own] = await api.db.models.Promotion.findAll({ where: { promotionName: 'shared' } });
  const batch = await api.call('POST', '/api/promote-batch', {
    auth: true,
    body: [item('shared'), item('refused')],
  });
  t.is(batch.status, 500);
  // Same commit, name, second and user: the batch's undo deletes its own row, not this one.
  const rows = await api.db.models.Promotion.findAll({ where: { promotionName: 'shared' } });
  t.deepEqual(
    rows.map((r) => r.getDataValue('id')),
    [own?.getDataValue('id')],
  );
  t.is(await linkOf(join(repos, 'shared')), TARGET);
});

test('repeated items of a batch are recorded one row per item, as DLRN records them', async (t) => {
  const api = await startApi('sqlite', t, { temporal: true });
  const before = await api.db.models.Promotion.count();
  const response = await api.call('POST', '/api/promote-batch', {
    auth: true,
    body: [item('twice'), item('other'), item('twice')],
  });
  t.is(response.status, 201, response.text);
  t.is(await api.db.models.Promotion.count(), before + 3);
  t.is(await api.db.models.Promotion.count({ where: { promotionName: 'twice' } }), 2);
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
