/**
 * Promotions of one name under CI's load: 100 `/api/promote` of one name at once with 20
 * promote-batch sagas beside them (half of which fail on their last item, refused by the
 * database), on the harness's Temporal server. After each round every answer is a 201 or the
 * failing batch's own message, and the name's link points at the repository of its newest row,
 * the one `/api/promotions` lists first.
 */
/* eslint-disable @typescript-eslint/no-unsafe-member-access -- JSON responses */
import test from 'ava';
import { readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { startApi, type Api } from '../helpers/api.ts';

const COMMITS = 5;
const hashOf = (i: number) => `${String(i + 1).repeat(2)}${'c'.repeat(38)}`;
const DISTRO = 'e'.repeat(40);

const addCommits = async (api: Api): Promise<void> => {
  for (let i = 0; i < COMMITS; i++) {
    await api.db.models.Commit.create({
      type: 'rpm',
      projectName: `pkg-${i}`,
      commitHash: hashOf(i),
      distroHash: DISTRO,
      extendedHash: null,
      dtCommit: 1441640000 + i,
      dtDistro: 1441640000,
      dtExtended: 0,
      dtBuild: 1441640100 + i,
      status: 'SUCCESS',
      component: null,
      flags: 0,
    });
  }
};

const item = (i: number, promote_name: string) => ({
  commit_hash: hashOf(i % COMMITS),
  distro_hash: DISTRO,
  promote_name,
});

test('100 promotes of one name beside 20 batches: every answer is clear, and the link is the newest row', async (t) => {
  const api = await startApi('sqlite', t, { temporal: true });
  await addCommits(api);
  await api.db.sequelize.query(
    `CREATE TRIGGER refuse_rows BEFORE INSERT ON promotions WHEN NEW.promotion_name GLOB 'refused-*' ` +
      `BEGIN SELECT RAISE(ABORT, 'refused'); END`,
  );
  // Credentials checked once before the burst (a cold check per request is issue 25's).
  t.is((await api.call('POST', '/api/promote', { auth: true, body: item(0, 'ci-shared') })).status, 201);
  const repos = join(api.datadir, 'repos');
  for (let round = 0; round < 2; round++) {
    const promotes = Array.from({ length: 100 }, (_, i) =>
      api.call('POST', '/api/promote', { auth: true, body: item(i + round, 'ci-shared') }),
    );
    const batches = Array.from({ length: 20 }, (_, b) => {
      const body = [item(b + round, 'ci-shared'), item(b + 1, `other-${round}-${b}`)];
      if (b % 2 === 1) body.push(item(b, `refused-${round}-${b}`));
      return api.call('POST', '/api/promote-batch', { auth: true, body });
    });
    const promoted = await Promise.all(promotes);
    const batched = await Promise.all(batches);
    t.deepEqual(
      promoted.filter((r) => r.status !== 201).map((r) => `${r.status} ${r.text}`),
      [],
      `round ${round}: every promote answered 201`,
    );
    batched.forEach((r, b) => {
      if (b % 2 === 0) t.is(r.status, 201, r.text);
      else {
        t.is(r.status, 500);
        t.regex(String(r.body.message), /refused \(item 3 of 3: promote_name refused-\d+-\d+, commit_hash /);
      }
    });
    const newest = await api.call('GET', '/api/promotions?promote_name=ci-shared&limit=1');
    const target = await readlink(join(repos, 'ci-shared'));
    t.is(target.split('/').at(-1), newest.body[0].repo_hash, `round ${round}: the link is the newest row's`);
    // Each failing batch left nothing: no row and no link of its own names.
    for (let b = 1; b < 20; b += 2) {
      t.is(await api.db.models.Promotion.count({ where: { promotionName: `other-${round}-${b}` } }), 0);
      t.false((await readdir(repos)).includes(`other-${round}-${b}`));
    }
    const rows = await api.db.models.Promotion.count({ where: { promotionName: 'ci-shared' } });
    t.is(rows, 1 + (round + 1) * (100 + 10), 'one row per promote and per batch that landed');
    t.deepEqual(
      (await readdir(repos)).filter((f) => f.endsWith('.tmp')),
      [],
      'no temporary link left',
    );
  }
});
