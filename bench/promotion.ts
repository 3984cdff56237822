/**
 * `npm run bench -- promotion [--targets 20] [--rate 100] [--seconds 60] [--interval 5] [--cpu-prof DIR] [--out FILE]`
 *
 * Automatic promotion's latency: from the answer to a candidate's last required vote to the
 * target's link on disk pointing at it. The site runs as in production, in cluster mode: a
 * Temporal dev server, one `dlrn-worker` and one `dlrn-api` (both built bins) over a SQLite
 * database, and a criteria file of `--targets` targets, each taking candidates from
 * `consistent` and requiring three jobs of its own.
 *
 * Every `--interval` seconds a new build arrives (a commit row and the builders' `consistent`
 * vote, written as the post-build writes them). CI votes on it through `POST
 * /api/report_result` at `--rate` votes a second, in a shuffled order: each target's three
 * required jobs and, for the rest of the interval's votes, jobs no target requires (a real site
 * has far more jobs than any criteria name). The bench watches every target's link (readlink
 * every 10 ms) and reports, over every (target, candidate) pair promoted, the time from the
 * 201 of the candidate's last required vote to the link moving: p50, p90, p99, max, beside a
 * polling promoter's expected delay (half its interval; RDO's polls every 10 minutes).
 * `--cpu-prof DIR` writes the worker's and the API's CPU profiles under DIR.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { hashPassword } from '../lib/auth/sha512-crypt.ts';
import { QueryTypes } from 'sequelize';
import { openDatabase } from '../lib/db/index.ts';
import { freePort, startDevServer } from '../lib/temporal-dev-server.ts';
import { percentile } from './measure.ts';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');
/** Required jobs per target. */
const JOBS_PER_TARGET = 3;
/** The polling design the bench compares with: RDO's promoter, every 10 minutes. */
const POLL_INTERVAL_S = 600;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Build n's commit (`c`) or distro (`d`) hash. */
const hex40 = (prefix: string, n: number): string =>
  createHash('sha1').update(`${prefix}-${n}`).digest('hex');

/** Starts a built bin with the site's config; resolves once it says `ready` (a pattern of its output). */
const startBin = (
  name: string,
  ini: string,
  ready: RegExp,
  cpuProf: string | undefined,
): Promise<{ child: ChildProcess; tail: () => string }> =>
  new Promise((started, fail) => {
    const profile = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${join(cpuProf, name)}`] : [];
    const child = spawn(
      process.execPath,
      [...profile, join(ROOT, 'bin', `${name}.js`), '--config-file', ini],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    const seen = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
      if (ready.test(output)) started({ child, tail: () => output });
    };
    child.stdout?.on('data', seen);
    child.stderr?.on('data', seen);
    child.once('exit', (code) => fail(new Error(`${name} exited ${code}: ${output.slice(-2_000)}`)));
  });

const stopBin = async (child: ChildProcess): Promise<void> => {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
};

/** A shuffle with a fixed seed: the same vote order on every run. */
const shuffled = <T>(items: T[], seed: number): T[] => {
  let state = seed >>> 0;
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
};

export const promotionBench = async (argv: string[]): Promise<void> => {
  const { values: flags } = parseArgs({
    args: argv,
    options: {
      targets: { type: 'string', default: '20' },
      rate: { type: 'string', default: '100' },
      seconds: { type: 'string', default: '60' },
      interval: { type: 'string', default: '5' },
      out: { type: 'string' },
      'cpu-prof': { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  const targets = Number(flags.targets);
  const rate = Number(flags.rate);
  const candidates = Math.max(1, Math.floor(Number(flags.seconds) / Number(flags.interval)));
  const votesPerCandidate = Math.round(rate * Number(flags.interval));
  if (votesPerCandidate < targets * JOBS_PER_TARGET)
    throw new Error(
      `--rate × --interval (${votesPerCandidate}) must leave room for every target's ${JOBS_PER_TARGET} jobs (${targets * JOBS_PER_TARGET})`,
    );
  const log = (line: string) => void process.stderr.write(`bench promotion: ${line}\n`);
  const work = await mkdtemp(join(tmpdir(), 'dlrn-bench-promotion-'));
  const datadir = join(work, 'data');
  const names = Array.from({ length: targets }, (_, t) => `target-${String(t).padStart(2, '0')}`);
  const jobsOf = (t: number) => Array.from({ length: JOBS_PER_TARGET }, (_, j) => `t${t}-job-${j}`);
  const temporal = await startDevServer({});
  const procs: ChildProcess[] = [];
  // However the bench ends, its site's processes end with it.
  const killAll = () => procs.forEach((child) => child.kill('SIGKILL'));
  process.once('exit', killAll);
  try {
    await mkdir(join(datadir, 'repos'), { recursive: true });
    const url = `sqlite:///${join(work, 'site.sqlite')}`;
    // As the site's own processes open it (`[database] sqlite_wal`, true by default).
    const db = await openDatabase(url, { sqliteWal: true });
    await db.models.User.create({ username: 'ci', password: hashPassword('s3cret') });
    const criteria = join(work, 'criteria.yaml');
    await writeFile(
      criteria,
      `targets:\n${names.map((n, t) => `  ${n}:\n    jobs: [${jobsOf(t).join(', ')}]\n`).join('')}`,
    );
    const apiPort = await freePort();
    const ini = join(work, 'projects.ini');
    await writeFile(
      ini,
      `[DEFAULT]\ndatadir=${datadir}\nbaseurl=http://trunk.example/\ndatabase_connection=${url}\n` +
        `pkginfo_driver=dlrn.drivers.local.LocalDriver\n\n[temporal]\naddress=${temporal.address}\n\n` +
        `[api]\nlisten=127.0.0.1\nport=${apiPort}\n\n[promotions]\ncriteria_file=${criteria}\n`,
    );
    const worker = await startBin('dlrn-worker', ini, /polling task queue/, flags['cpu-prof']);
    procs.push(worker.child);
    const api = await startBin('dlrn-api', ini, /listening on/, flags['cpu-prof']);
    procs.push(api.child);
    const base = `http://127.0.0.1:${apiPort}`;
    const auth = `Basic ${Buffer.from('ci:s3cret').toString('base64')}`;

    // A build as post-build leaves it: the commit's row and the builders' consistent vote.
    const build = async (n: number): Promise<void> => {
      const t0 = Date.now();
      const at = Math.trunc(t0 / 1000);
      const commit = await db.models.Commit.create({
        projectName: `pkg-${n}`,
        status: 'SUCCESS',
        commitHash: hex40('c', n),
        distroHash: hex40('d', n),
        dtCommit: at,
        dtDistro: at,
        dtBuild: at,
      });
      await db.models.CiVote.create({
        commitId: commit.get('id') as number,
        ciName: 'consistent',
        ciUrl: '',
        ciVote: true,
        ciInProgress: false,
        timestamp: at,
        notes: '',
        user: null,
        component: null,
      });
      if (Date.now() - t0 > 500) log(`build ${n}'s rows took ${Date.now() - t0} ms to write`);
    };
    const vote = async (n: number, job: string, seq: number): Promise<void> => {
      const answer = await fetch(`${base}/api/report_result`, {
        method: 'POST',
        headers: { Authorization: auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          job_id: job,
          commit_hash: hex40('c', n),
          distro_hash: hex40('d', n),
          url: `https://ci.example/${job}/${n}`,
          timestamp: Math.trunc(Date.now() / 1000),
          success: true,
        }),
      });
      await answer.arrayBuffer();
      if (answer.status !== 201) throw new Error(`vote ${seq}: ${answer.status} ${api.tail().slice(-500)}`);
    };

    // Warm up: one build promoted to every target, so the workflows are running and the worker's
    // bundle loaded before anything is measured.
    log(`warming up: ${targets} targets, their workflows started by the first votes`);
    await build(0);
    await Promise.all(names.flatMap((_, t) => jobsOf(t).map((job) => vote(0, job, -1))));
    const linkOf = (name: string) => join(datadir, 'repos', name);
    const pointsAt = async (name: string): Promise<string | undefined> =>
      readlink(linkOf(name)).catch(() => undefined);
    const warmUntil = Date.now() + 60_000;
    while ((await Promise.all(names.map(pointsAt))).some((l) => !l?.includes(hex40('c', 0)))) {
      if (Date.now() > warmUntil)
        throw new Error(`the warm-up was not promoted in 60 s: ${worker.tail().slice(-1_000)}`);
      await sleep(50);
    }

    // Watch every link: the first time each points at build k (its commit hash, looked up once,
    // so the watcher spends no CPU the site under test could use).
    const buildOf = new Map(Array.from({ length: candidates }, (_, i) => [hex40('c', i + 1), i + 1]));
    const seen = new Map<string, number>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        await Promise.all(
          names.map(async (name) => {
            const commit = /([0-9a-f]{40})_[0-9a-f]+$/.exec((await pointsAt(name)) ?? '')?.[1];
            const k = commit === undefined ? undefined : buildOf.get(commit);
            if (k !== undefined && !seen.has(`${name}#${k}`)) seen.set(`${name}#${k}`, Date.now());
          }),
        );
        await sleep(10);
      }
    })();

    // The load: a new build every interval, its votes at `rate` a second in a shuffled order.
    log(
      `${candidates} builds, ${votesPerCandidate} votes each at ${rate}/s (${targets * JOBS_PER_TARGET} required)`,
    );
    const lastRequired = new Map<string, number>();
    const pending: Promise<void>[] = [];
    const failures: string[] = [];
    let seq = 0;
    const started = Date.now();
    for (let k = 1; k <= candidates; k++) {
      await build(k);
      const required = names.flatMap((name, t) => jobsOf(t).map((job) => ({ job, target: name })));
      const noise = Array.from({ length: votesPerCandidate - required.length }, (_, i) => ({
        job: `other-job-${i}`,
        target: undefined as string | undefined,
      }));
      const votes = shuffled([...required, ...noise], k);
      for (const v of votes) {
        const due = started + (seq * 1_000) / rate;
        seq++;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
        const mine = seq;
        pending.push(
          vote(k, v.job, mine).then(
            () => {
              if (!v.target) return;
              const key = `${v.target}#${k}`;
              lastRequired.set(key, Math.max(lastRequired.get(key) ?? 0, Date.now()));
            },
            (err: unknown) => void failures.push(String(err)),
          ),
        );
      }
    }
    await Promise.all(pending);
    if (failures.length > 0)
      throw new Error(`${failures.length} votes failed, the first: ${failures[0] ?? ''}`);
    const sent = seq;
    const elapsed = (Date.now() - started) / 1000;
    // Every pair promoted, or 30 s more.
    const settle = Date.now() + 30_000;
    while (seen.size < targets * candidates && Date.now() < settle) await sleep(50);
    watching = false;
    await watcher;

    const latencies: number[] = [];
    let missed = 0;
    for (const [key, answered] of lastRequired) {
      const moved = seen.get(key);
      if (moved === undefined) missed++;
      else latencies.push(Math.max(0, moved - answered));
    }
    latencies.sort((a, b) => a - b);
    // Latency by build, to see whether it grows as the site's rows and histories do.
    const byBuild = Array.from({ length: candidates }, (_, i) => {
      const ms = names.flatMap((name) => {
        const moved = seen.get(`${name}#${i + 1}`);
        const answered = lastRequired.get(`${name}#${i + 1}`);
        return moved === undefined || answered === undefined ? [] : [Math.max(0, moved - answered)];
      });
      return `${i + 1}: ${percentile(ms, 50)}`;
    });
    log(`p50 by build (ms): ${byBuild.join(', ')}`);
    const figures = {
      targets,
      candidates,
      votes: sent,
      votesPerSecond: Math.round(sent / elapsed),
      promotions: latencies.length,
      missed,
      p50Ms: percentile(latencies, 50),
      p90Ms: percentile(latencies, 90),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies[latencies.length - 1] ?? 0,
      pollingExpectedMs: (POLL_INTERVAL_S / 2) * 1_000,
      pollingWorstMs: POLL_INTERVAL_S * 1_000,
    };
    // Of the pairs never seen on disk: how many the database has a promotion row for.
    const rowsByTarget = await db.sequelize.query<{ promotion_name: string; commit_hash: string }>(
      'SELECT p.promotion_name, c.commit_hash FROM promotions p JOIN commits c ON c.id = p.commit_id',
      { type: QueryTypes.SELECT },
    );
    const recorded = new Set(rowsByTarget.map((r) => `${r.promotion_name}@${r.commit_hash}`));
    const unseen = [...lastRequired.keys()].filter((key) => !seen.has(key));
    const inDb = unseen.filter((key) => {
      const [name, k] = key.split('#');
      return recorded.has(`${name ?? ''}@${hex40('c', Number(k))}`);
    });
    if (unseen.length > 0)
      log(
        `never seen on disk: ${unseen.length}, of which promoted in the database: ${inDb.length}; e.g. ${unseen.slice(0, 8).join(', ')}`,
      );
    if (missed > 0)
      for (const [name, proc] of [
        ['dlrn-worker', worker],
        ['dlrn-api', api],
      ] as const)
        log(
          `${name}'s last errors:\n${proc
            .tail()
            .split('\n')
            .filter((l) => /error|warn|fail/i.test(l))
            .slice(-10)
            .join('\n')}`,
        );
    const table = [
      '| targets | builds | votes (per second) | promotions measured | p50 | p90 | p99 | max | polling every 10 min: expected / worst |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      `| ${targets} | ${candidates} | ${sent} (${figures.votesPerSecond}/s) | ${latencies.length}${missed ? ` (${missed} never promoted)` : ''} | ${figures.p50Ms} ms | ${figures.p90Ms} ms | ${figures.p99Ms} ms | ${figures.maxMs} ms | ${POLL_INTERVAL_S / 2} s / ${POLL_INTERVAL_S} s |`,
    ].join('\n');
    process.stdout.write(`${table}\n`);
    if (flags.out)
      await writeFile(
        flags.out,
        `${JSON.stringify({ date: new Date().toISOString(), ...figures, table }, null, 2)}\n`,
      );
    await db.close();
  } finally {
    for (const child of procs.reverse()) await stopBin(child);
    await temporal.stop();
    if (flags.keep) log(`the site is kept in ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
};
