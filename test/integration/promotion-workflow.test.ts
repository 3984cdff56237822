/**
 * Automatic promotion end to end on the Temporal dev server: CI votes through report_result wake
 * the target's workflow, which promotes the newest candidate meeting the criteria within
 * seconds, once however many votes arrive; a promotion feeds the next target's candidates; a dry
 * run decides and moves nothing. SQLite and PostgreSQL.
 */
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call -- JSON responses, asserted field by field */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import test from 'ava';
import { loadConfig } from '../../lib/config/index.ts';
import { checkPromotions } from '../../lib/repo/site-check.ts';
import { decidePromotion, promoteCandidate } from '../../activities/promotion/auto.ts';
import { claimDecision } from '../../lib/db/promotion-decisions.ts';
import { PROMOTION_DECISIONS_TABLE } from '../../lib/db/migrations.ts';
import { createLogger } from '../../lib/logger.ts';
import { addComponentBuild, q, startApi, type Api } from '../helpers/api.ts';
import { buildCandidate, candidateHash, criteriaIni } from '../helpers/promotion.ts';
import { startReceiver } from '../helpers/receiver.ts';

const now = () => Math.trunc(Date.now() / 1000);
const hash = candidateHash;

/** A successful build of commit `n`, voted `consistent` by the builder. */
const build = (api: Api, n: number): Promise<number> => buildCandidate(api, n, now() - 100 + n);

const report = (api: Api, n: number, job: string, success = true) =>
  api.call('POST', '/api/report_result', {
    auth: true,
    body: {
      job_id: job,
      commit_hash: hash('c', n),
      distro_hash: hash('d', n),
      url: `https://ci.example/${job}/${n}`,
      timestamp: now(),
      success,
    },
  });

const promotionsOf = async (api: Api, name: string) =>
  (await api.call('GET', `/api/promotions${q({ promote_name: name })}`)).body as { commit_hash: string }[];

/** Waits until `name` has `count` promotion rows; returns how long it took. */
const promoted = async (api: Api, name: string, count: number): Promise<number> => {
  const started = Date.now();
  while ((await promotionsOf(api, name)).length < count) {
    if (Date.now() - started > 30_000) throw new Error(`${name} was not promoted within 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - started;
};

for (const kind of ['sqlite', 'postgres'] as const) {
  test(`${kind}: votes wake the target, which promotes the newest candidate meeting its criteria, once`, async (t) => {
    t.timeout(120_000);
    const api = await startApi(kind, t, {
      temporal: true,
      now: () => Date.now(),
      ini: await criteriaIni(),
    });
    await build(api, 1);
    await build(api, 2);
    await build(api, 3);
    // Commit 3 fails the job, commit 2 passes it: 2 is promoted, within seconds of its vote.
    t.is((await report(api, 3, 'periodic-promote-to-testing', false)).status, 201);
    t.is((await report(api, 2, 'periodic-promote-to-testing')).status, 201);
    const took = await promoted(api, 'tripleo-ci-testing', 1);
    t.log(`tripleo-ci-testing promoted ${took} ms after the last required vote`);
    t.is((await promotionsOf(api, 'tripleo-ci-testing'))[0]?.commit_hash, hash('c', 2));
    // The link points at commit 2's repository, as the API's promote makes it.
    t.true(
      (await readlink(join(api.datadir, 'repos', 'tripleo-ci-testing'))).endsWith(
        `${hash('c', 2)}_${hash('d', 2).slice(0, 8)}`,
      ),
    );
    // A storm of votes for the same job: still one promotion; an older candidate never replaces it.
    await Promise.all(Array.from({ length: 20 }, () => report(api, 1, 'periodic-promote-to-testing')));
    await Promise.all(Array.from({ length: 20 }, () => report(api, 2, 'periodic-promote-to-testing')));
    // current-tripleo takes tripleo-ci-testing's promotions: fs001 and fs035 by its alternative.
    t.is((await report(api, 2, 'periodic-fs001')).status, 201);
    t.is((await report(api, 2, 'periodic-fs035-rocky')).status, 201);
    await promoted(api, 'current-tripleo', 1);
    t.is((await promotionsOf(api, 'current-tripleo'))[0]?.commit_hash, hash('c', 2));
    // The evidence: the votes that justified it, served with the status.
    const status = await api.call('GET', `/api/promotion_status${q({ promote_name: 'current-tripleo' })}`);
    t.is(status.body.current, `${hash('c', 2)}/${hash('d', 2)}`);
    t.like(status.body.decisions[0], { candidate: `${hash('c', 2)}/${hash('d', 2)}`, dry_run: false });
    t.deepEqual(
      status.body.decisions[0].evidence.jobs.map((j: { job: string; state: string }) => [j.job, j.state]),
      [
        ['periodic-fs001', 'passed'],
        ['periodic-fs035', 'alternative'],
      ],
    );
    // Let the storms' wake-ups settle, then count: one row per decision.
    await new Promise((r) => setTimeout(r, 2_000));
    t.is((await promotionsOf(api, 'tripleo-ci-testing')).length, 1);
    t.is((await promotionsOf(api, 'current-tripleo')).length, 1);
    // The dry run decided (a decision row) and moved nothing: no row, no link.
    const rehearsal = await api.call('GET', `/api/promotion_status${q({ promote_name: 'rehearsal' })}`);
    t.like(rehearsal.body.decisions[0], {
      candidate: `${hash('c', 2)}/${hash('d', 2)}`,
      dry_run: true,
      promotion_ids: null,
    });
    t.deepEqual(await promotionsOf(api, 'rehearsal'), []);
    t.false(existsSync(join(api.datadir, 'repos', 'rehearsal')));
    // Prometheus: decisions, candidates refused or waiting, vote-to-promotion time, per target.
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    t.regex(metrics, /^dlrn_promotion_decisions\{target="tripleo-ci-testing",mode="promoted"\} 1$/m);
    t.regex(metrics, /^dlrn_promotion_decisions\{target="rehearsal",mode="dry_run"\} 1$/m);
    t.regex(metrics, /^dlrn_promotion_pending_candidates\{target="tripleo-ci-testing",state="refused"\} 1$/m);
    t.regex(metrics, /^dlrn_promotion_pending_candidates\{target="current-tripleo",state="waiting"\} 0$/m);
    t.regex(metrics, /^dlrn_promotion_vote_to_promotion_seconds\{target="current-tripleo"\} \d+$/m);
  });
}

test('an automatic promotion is sent to the webhooks with its evidence, for a caller to hook in', async (t) => {
  const { url, received } = await startReceiver(t);
  const events = () =>
    received.map((r) => JSON.parse(r.body) as { event: string; data: Record<string, unknown> });
  const api = await startApi('sqlite', t, {
    temporal: true,
    now: () => Date.now(),
    ini: `${await criteriaIni()}\n[api]\nwebhook_urls=${url}\n`,
  });
  await build(api, 1);
  t.is((await report(api, 1, 'periodic-promote-to-testing')).status, 201);
  await promoted(api, 'tripleo-ci-testing', 1);
  let automatic: { event: string; data: Record<string, unknown> } | undefined;
  for (let i = 0; i < 100 && !automatic; i++) {
    automatic = events().find((b) => b.event === 'promotion' && b.data.automatic === true);
    if (!automatic) await new Promise((r) => setTimeout(r, 100));
  }
  t.like(automatic?.data, {
    promote_name: 'tripleo-ci-testing',
    commit_hash: hash('c', 1),
    distro_hash: hash('d', 1),
  });
  t.like((automatic?.data.evidence as { job: string; state: string; url: string }[])[0], {
    job: 'periodic-promote-to-testing',
    state: 'passed',
    url: 'https://ci.example/periodic-promote-to-testing/1',
  });
  // The dry run decided too, but sent nothing.
  t.false(events().some((b) => b.event === 'promotion' && b.data.promote_name === 'rehearsal'));
});

test('1,000 votes in a burst: one promotion per decision, each link on its newest row, nothing promoted twice', async (t) => {
  t.timeout(180_000);
  const api = await startApi('sqlite', t, {
    temporal: true,
    now: () => Date.now(),
    ini: await criteriaIni(),
  });
  for (const n of [1, 2, 3, 4]) await build(api, n);
  const jobs = ['periodic-promote-to-testing', 'periodic-fs001', 'periodic-fs035', 'periodic-other'];
  const votes = Array.from({ length: 1_000 }, (_, i) => ({
    n: 1 + (i % 4),
    job: jobs[Math.floor(i / 4) % jobs.length] ?? '',
  }));
  let next = 0;
  const answers: number[] = [];
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < votes.length) {
        const v = votes[next++]!;
        answers.push((await report(api, v.n, v.job, v.n !== 3)).status);
      }
    }),
  );
  t.deepEqual([...new Set(answers)], [201]);
  // The burst's wake-ups settled: every target decided on its newest passing candidate.
  await promoted(api, 'tripleo-ci-testing', 1);
  await new Promise((r) => setTimeout(r, 3_000));
  const config = await loadConfig(join(dirname(api.datadir), 'projects.ini'));
  for (const target of ['tripleo-ci-testing', 'current-tripleo']) {
    const rows = await promotionsOf(api, target);
    const status = await api.call('GET', `/api/promotion_status${q({ promote_name: target })}`);
    const decided = (status.body.decisions as { dry_run: boolean; promotion_ids: number[] }[]).filter(
      (d) => !d.dry_run,
    );
    t.is(rows.length, decided.length, target);
    t.deepEqual(decided.flatMap((d) => d.promotion_ids).length, rows.length, target);
  }
  t.is((await promotionsOf(api, 'tripleo-ci-testing'))[0]?.commit_hash, hash('c', 4));
  // dlrn-check's promotion check: each target's link on its newest row (the fixture's own
  // current-passed-ci row has no link, and is not ours).
  t.deepEqual(
    (await checkPromotions(config, api.db, api.datadir)).filter(
      (v) => v.subject !== 'repos/current-passed-ci',
    ),
    [],
  );
});

test('a promotion whose worker died after its claim, or after its row, is finished by the retry without a second row', async (t) => {
  const api = await startApi('sqlite', t, { now: () => Date.now(), ini: await criteriaIni() });
  const config = await loadConfig(join(dirname(api.datadir), 'projects.ini'));
  const deps = { config, db: api.db, logger: createLogger({ level: 'fatal' }) };
  for (const n of [1, 2]) await build(api, n);
  await report(api, 1, 'periodic-promote-to-testing');
  await report(api, 2, 'periodic-promote-to-testing');
  const decide = async () => (await decidePromotion(deps, { target: 'tripleo-ci-testing' })).promote!;
  const input = { target: 'tripleo-ci-testing', dryRun: false, workflowId: 'test' };
  // Died after the claim: the decision row is there, nothing promoted.
  const status = await decide();
  await claimDecision(api.db, {
    target: input.target,
    candidate: status.candidate.key,
    dryRun: false,
    decidedAt: now(),
    evidence: status,
    workflowId: 'test',
  });
  const retried = await promoteCandidate(deps, { ...input, status });
  t.is(retried.decided, true);
  t.is((await promotionsOf(api, 'tripleo-ci-testing')).length, 1);
  t.is(
    await promoteCandidate(deps, { ...input, status }).then((r) => r.promotionIds[0]),
    retried.promotionIds[0],
  );
  t.is((await promotionsOf(api, 'tripleo-ci-testing')).length, 1);
  // Died after the row, before the decision recorded it: the retry finds the row as its own.
  await api.db.sequelize.query(`UPDATE ${PROMOTION_DECISIONS_TABLE} SET promotion_ids = NULL`);
  const again = await promoteCandidate(deps, { ...input, status });
  t.deepEqual(again.promotionIds, retried.promotionIds);
  t.is((await promotionsOf(api, 'tripleo-ci-testing')).length, 1);
});

test('a criteria file edited into something invalid: the last good criteria keep deciding, and the error is logged', async (t) => {
  const ini = await criteriaIni();
  const api = await startApi('sqlite', t, { now: () => Date.now(), ini });
  const config = await loadConfig(join(dirname(api.datadir), 'projects.ini'));
  const errors: string[] = [];
  const logger = createLogger({ level: 'fatal' });
  logger.error = (obj: { error?: string }) => void errors.push(obj.error ?? '');
  const deps = { config, db: api.db, logger };
  await build(api, 1);
  await report(api, 1, 'periodic-promote-to-testing');
  t.is(
    (await decidePromotion(deps, { target: 'tripleo-ci-testing' })).promote?.candidate.key,
    `${hash('c', 1)}/${hash('d', 1)}`,
  );
  const file = /criteria_file=(.*)/.exec(ini)?.[1] ?? '';
  await writeFile(file, 'targets:\n  tripleo-ci-testing:\n    jobs: []\n');
  const kept = await decidePromotion(deps, { target: 'tripleo-ci-testing' });
  t.is(kept.promote?.candidate.key, `${hash('c', 1)}/${hash('d', 1)}`);
  t.falsy(kept.gone);
  t.regex(errors[0] ?? '', /targets\.tripleo-ci-testing\.jobs: names no job/);
});

test('aggregate candidates (use_components): the components are promoted through the batch saga, all or nothing', async (t) => {
  t.timeout(180_000);
  const dir = await mkdtemp(join(tmpdir(), 'dlrnt-criteria-'));
  const file = join(dir, 'criteria.yaml');
  await writeFile(
    file,
    'targets:\n  promoted-components:\n    from: component-ci-testing\n    use_components: true\n' +
      '    jobs: [periodic-integration]\n',
  );
  const api = await startApi('sqlite', t, {
    temporal: true,
    now: () => Date.now(),
    ini: `use_components=true\n[promotions]\ncriteria_file=${file}\n`,
  });
  const components = ['tripleo', 'compute', 'network'];
  const commitOf = (i: number) => String(i + 1).repeat(40);
  for (const [i, component] of components.entries()) {
    await addComponentBuild(
      api,
      commitOf(i),
      `[delorean-component-${component}]\nbaseurl=http://x/${i}\n`,
      component,
    );
    const promote = await api.call('POST', '/api/promote', {
      auth: true,
      body: { commit_hash: commitOf(i), distro_hash: 'd'.repeat(40), promote_name: 'component-ci-testing' },
    });
    t.is(promote.status, 201, promote.text);
  }
  // Each component promotion made an aggregate; the newest holds all three components.
  const sourceRows = await api.db.models.Promotion.findAll({
    where: { promotionName: 'component-ci-testing' },
    order: [['id', 'ASC']],
  });
  const aggregate = sourceRows.at(-1)?.getDataValue('aggregateHash') ?? '';
  t.regex(aggregate, /^[0-9a-f]{32}$/);
  const target = (component: string) =>
    join(api.datadir, 'repos', 'component', component, 'promoted-components');
  const vote = (success = true) =>
    api.call('POST', '/api/report_result', {
      auth: true,
      body: {
        job_id: 'periodic-integration',
        aggregate_hash: aggregate,
        url: 'https://ci.example/integration',
        timestamp: now(),
        success,
      },
    });
  const batchId = `promotion:${api.taskQueue ?? ''}:promoted-components:batch:${aggregate}`;
  const batchEnded = async (): Promise<string> => {
    for (let i = 0; i < 600; i++) {
      const status = await api.client?.workflow
        .getHandle(batchId)
        .describe()
        .then((d) => d.status.name)
        .catch(() => 'NOT_STARTED');
      if (status && status !== 'RUNNING' && status !== 'NOT_STARTED') return status;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${batchId} did not end`);
  };

  // The last component's link cannot be made (a folder holds its place): the saga rolls the
  // first two back, and the target has nothing of the aggregate.
  await mkdir(join(target('network'), 'in-the-way'), { recursive: true });
  t.is((await vote()).status, 201);
  t.is(await batchEnded(), 'FAILED');
  t.is(await api.db.models.Promotion.count({ where: { promotionName: 'promoted-components' } }), 0);
  t.false(existsSync(target('tripleo')));
  t.false(existsSync(target('compute')));
  t.false(existsSync(join(api.datadir, 'repos', 'promoted-components')));

  // The way cleared, the next vote's decision promotes every component and the aggregate.
  await rm(target('network'), { recursive: true });
  t.is((await vote()).status, 201);
  await promoted(api, 'promoted-components', components.length);
  // The saga's rows are stored on the decision once it has ended (its aggregate made).
  let status = await api.call('GET', `/api/promotion_status${q({ promote_name: 'promoted-components' })}`);
  for (let i = 0; i < 100 && status.body.decisions?.[0]?.promotion_ids === null; i++) {
    await new Promise((r) => setTimeout(r, 100));
    status = await api.call('GET', `/api/promotion_status${q({ promote_name: 'promoted-components' })}`);
  }
  const rows = (
    await api.db.models.Promotion.findAll({
      where: { promotionName: 'promoted-components' },
      order: [['id', 'ASC']],
    })
  ).map((r) => r.get({ plain: true }));
  t.deepEqual(
    rows.map((r) => r.component),
    components,
  );
  for (const [i, component] of components.entries())
    t.is(
      await readlink(target(component)),
      `${commitOf(i).slice(0, 2)}/${commitOf(i).slice(2, 4)}/${commitOf(i)}_dddddddd`,
    );
  // The same components make the same aggregate, stored on the last row, as a batch does.
  t.is(rows.at(-1)?.aggregateHash, aggregate);
  t.true(existsSync(join(api.datadir, 'repos', 'promoted-components', 'delorean.repo')));
  t.is(status.status, 200, status.text);
  t.is(status.body.current, aggregate);
  t.like(status.body.decisions[0], {
    candidate: aggregate,
    dry_run: false,
    promotion_ids: rows.map((r) => r.id),
  });
  t.like(status.body.candidates[0], {
    candidate: aggregate,
    aggregate_hash: aggregate,
    commit_hash: null,
    meets: true,
  });
  // More votes: nothing promoted twice.
  await Promise.all(Array.from({ length: 10 }, () => vote()));
  await new Promise((r) => setTimeout(r, 2_000));
  t.is(
    await api.db.models.Promotion.count({ where: { promotionName: 'promoted-components' } }),
    components.length,
  );
});
