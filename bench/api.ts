/**
 * `npm run bench -- api [--kinds sqlite,sqlite-rollback,postgres] [--seconds 10] [--connections 50]
 * [--endpoints repo_status,...] [--votes N] [--runs N] [--read-cache-ms N] [--root DIR] [--cpu-prof DIR] [--out FILE]`
 *
 * The API as CI systems use it: a DLRN database of 10,000 commits (500 packages, 20 each) and
 * 100,000 votes (10 a commit, 20 jobs; `--votes 1000000`: 100,000 commits and 1,000,000 votes), served by `dlrn-api` (cluster mode, on a dev server of the
 * bench's own), loaded with autocannon at 50 connections:
 *
 * - `GET /api/repo_status` of a commit with votes;
 * - `GET /api/last_tested_repo?max_age=0&success=true`;
 * - `POST /api/report_result` with Basic credentials (a user hashed at passlib's 656,000 rounds);
 * - `GET /api/health` at 5 connections while 20 requests a second arrive with wrong passwords for
 *   ten users from changing clients.
 *
 * `sqlite` serves the SQLite database with the checkout's default journal (write-ahead logging
 * since issue 25), `sqlite-wal` and `sqlite-rollback` set `[database] sqlite_wal` true and false
 * (for a `--root` checkout of either default). PostgreSQL runs as
 * the tests run it (fsync off). `--read-cache-ms 0` measures every request's queries. `--root`
 * serves from another checkout (the same database, the same load), for a before/after;
 * `--cpu-prof DIR` writes the server's CPU profile there. `--runs N` runs the CI mix N times on the
 * same server and reports each field's median. `--pg-setting name=value` (repeatable) sets a
 * PostgreSQL server setting (`shared_buffers=1GB`).
 */
import autocannon from 'autocannon';
import { createHash } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { hashPassword } from '../lib/auth/sha512-crypt.ts';
import { QueryTypes } from 'sequelize';
import { openDatabase, type Database } from '../lib/db/index.ts';
import { freePort, startDevServer } from '../lib/temporal-dev-server.ts';
import { startPostgres } from '../test/harness/services.ts';

const ROOT = resolve(import.meta.dirname, '..');
/** Commits of the database: 10,000, or a tenth of `--votes` (a site's history grows by commits). */
let COMMITS = 10_000;
const PACKAGES = 500;
/** Votes of each commit, as on a site where ten jobs vote on each repository. */
const VOTES_PER_COMMIT = 10;
const JOBS = 20;
const BASE_TIME = 1_780_000_000;

/** The SQLite kinds, and the `[database] sqlite_wal` each sets (none: the checkout's default). */
const SQLITE_WAL: Record<string, boolean | undefined> = {
  sqlite: undefined,
  'sqlite-wal': true,
  'sqlite-rollback': false,
};

const hex = (n: number, salt: string): string => createHash('sha1').update(`${salt}-${n}`).digest('hex');

/** Fills a fresh database (our migrations make DLRN's schema) with the bench's rows. */
export const fillDatabase = async (url: string): Promise<{ commit: string; distro: string }> => {
  const db = await openDatabase(url);
  const { Commit, CiVote, User } = db.models;
  for (let start = 0; start < COMMITS; start += 1_000) {
    await Commit.bulkCreate(
      Array.from({ length: 1_000 }, (_, k) => {
        const i = start + k;
        const pkg = `package-${String(i % PACKAGES).padStart(3, '0')}`;
        const dt = BASE_TIME + i * 60;
        return {
          type: 'rpm',
          dtCommit: dt,
          dtDistro: dt,
          dtExtended: 0,
          dtBuild: dt + 30,
          projectName: pkg,
          repoDir: `/data/${pkg}`,
          distgitDir: `/data/${pkg}_distro`,
          commitHash: hex(i, 'commit'),
          distroHash: hex(i, 'distro'),
          extendedHash: null,
          commitBranch: 'master',
          status: i % 17 === 0 ? 'FAILED' : 'SUCCESS',
          component: null,
          artifacts: `repos/x/${pkg}-1.0-1.src.rpm,repos/x/${pkg}-1.0-1.noarch.rpm`,
          notes: 'OK',
          flags: 0,
          versionsCsv: null,
        };
      }),
      { validate: false },
    );
  }
  const ids = (await Commit.findAll({
    attributes: ['id'],
    order: [['id', 'ASC']],
    raw: true,
  })) as unknown as {
    id: number;
  }[];
  // Votes name their user: the users first. passlib's rounds, as `dlrn-user` makes them; ten more users share one hash.
  const hash = hashPassword('s3cret');
  await User.bulkCreate([
    { username: 'ci', password: hash },
    ...Array.from({ length: 10 }, (_, i) => ({ username: `user${i}`, password: hash })),
  ]);
  // CI votes on what built: report_result refuses a failed build, so a failed build's share of
  // the votes goes to its neighbour.
  const votedOn = (i: number): number => (i % 17 !== 0 ? i : i === 0 ? 1 : i - 1);
  const votes = ids.flatMap((_, i) =>
    Array.from({ length: VOTES_PER_COMMIT }, (_, v) => ({
      commitId: ids[votedOn(i)]?.id ?? 1,
      ciName: `job-${(i + v) % JOBS}`,
      ciUrl: `https://ci.example/${i}/${v}`,
      ciVote: (i + v) % 3 !== 0,
      ciInProgress: false,
      timestamp: BASE_TIME + i * 60 + v,
      notes: '',
      user: 'ci',
      component: null,
    })),
  );
  for (let start = 0; start < votes.length; start += 500)
    await CiVote.bulkCreate(votes.slice(start, start + 500), { validate: false });
  // What autovacuum would do to 110,000 fresh rows in the minute the load runs, done before it.
  if (db.sequelize.getDialect() === 'postgres') await db.sequelize.query('VACUUM ANALYZE');
  const target = await Commit.findByPk(ids[ids.length - 3]?.id ?? 1);
  plans = await hotPlans(
    db,
    target?.getDataValue('commitHash') ?? '',
    target?.getDataValue('distroHash') ?? '',
  );
  await db.close();
  return {
    commit: target?.getDataValue('commitHash') ?? '',
    distro: target?.getDataValue('distroHash') ?? '',
  };
};

/** The plans of the hot reads (lib/db/hot-reads.ts) on the filled database, as each engine explains them. */
let plans: Record<string, string> = {};

const hotPlans = async (db: Database, commit: string, distro: string): Promise<Record<string, string>> => {
  const sqlite = db.sequelize.getDialect() === 'sqlite';
  const questions: Record<string, [string, unknown[]]> = {
    'repo_status: the commit': [
      "SELECT * FROM commits WHERE status = 'SUCCESS' AND commit_hash = ? AND distro_hash = ? ORDER BY id DESC LIMIT 1",
      [commit, distro],
    ],
    'repo_status: its votes': ['SELECT * FROM civotes WHERE commit_id = ? ORDER BY id ASC', [COMMITS - 3]],
    'last_tested_repo?job_id=': [
      'SELECT * FROM civotes WHERE civotes.timestamp > ? AND ci_name = ? AND ci_vote = ? ORDER BY civotes.timestamp DESC, id ASC LIMIT 1',
      [0, 'job-3', true],
    ],
  };
  const out: Record<string, string> = {};
  for (const [name, [sql, params]] of Object.entries(questions)) {
    const rows = await db.sequelize.query<Record<string, string>>(
      `${sqlite ? 'EXPLAIN QUERY PLAN' : 'EXPLAIN'} ${sql}`,
      {
        replacements: params,
        type: QueryTypes.SELECT,
      },
    );
    out[name] = rows.map((r) => r.detail ?? r['QUERY PLAN'] ?? JSON.stringify(r)).join(' / ');
  }
  return out;
};

const startApi = async (
  root: string,
  ini: string,
  cpuProf: string | undefined,
): Promise<{ child: ChildProcess; url: string; port: number; tail: () => string }> => {
  const bin = join(root, 'bin', 'dlrn-api.js');
  const command = cpuProf ? process.execPath : bin;
  const args = ['--config-file', ini];
  if (cpuProf) args.unshift('--cpu-prof', `--cpu-prof-dir=${cpuProf}`, bin);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise<string>((ready, fail) => {
    const seen = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
      const match = /listening on (http:\/\/[^/]+)/.exec(output);
      if (match?.[1]) ready(match[1]);
    };
    child.stdout?.on('data', seen);
    child.stderr?.on('data', seen);
    child.once('exit', (code) => fail(new Error(`dlrn-api exited ${code}: ${output.slice(-2000)}`)));
  });
  return { child, url, port: Number(new URL(url).port), tail: () => output };
};

/** CPU seconds of a process, from /proc (utime + stime, in clock ticks of 1/100 s). */
const cpuSeconds = async (pid: number | undefined): Promise<number> => {
  if (pid === undefined) return 0;
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

/** The machine's busy and total clock ticks, from /proc/stat. */
const machineTicks = async (): Promise<{ busy: number; total: number }> => {
  const cpu = (await readFile('/proc/stat', 'utf8')).split('\n')[0]?.split(/\s+/).slice(1).map(Number) ?? [];
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return { busy: total - idle, total };
};

interface CpuUse {
  /** CPU seconds the API process used while the load ran. */
  serverS: number;
  /** CPU seconds the load generator (this process) used. */
  generatorS: number;
  /** The whole machine's busy share, percent of all cores. */
  machineBusy: number;
  /** Requests served per CPU-second of the API: what one core of it answers. */
  perCore: number;
}

/** Measures the CPU the API, the load generator and the machine use between start and stop. */
const cpuMeter = (pid: number | undefined) => {
  const start = Promise.all([cpuSeconds(pid), machineTicks()]);
  const generator = process.cpuUsage();
  return {
    stop: async (): Promise<CpuUse> => {
      const [[server0, machine0], server1, machine1] = await Promise.all([
        start,
        cpuSeconds(pid),
        machineTicks(),
      ]);
      const g = process.cpuUsage(generator);
      return {
        serverS: Math.round((server1 - server0) * 100) / 100,
        generatorS: Math.round((g.user + g.system) / 1e4) / 100,
        machineBusy: Math.round(((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * 100),
        perCore: 0,
      };
    },
  };
};

interface Load {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** The answers that were not 2xx, by status code. */
  codes: Record<string, number>;
}

const load = async (options: autocannon.Options): Promise<Load> => {
  const result = await autocannon(options);
  return {
    requests: result.requests.total,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    codes: Object.fromEntries(
      Object.entries(result.statusCodeStats ?? {})
        .filter(([code]) => !code.startsWith('2'))
        .map(([code, { count }]) => [code, count ?? 0]),
    ),
  };
};

/** The non-2xx answers by code, for the table: ` (404: 3, 500: 1)`, or nothing. */
const codesOf = (l: Load): string => {
  const codes = Object.entries(l.codes);
  return codes.length ? ` (${codes.map(([code, n]) => `${code}: ${n}`).join(', ')})` : '';
};

/** Of several runs, each field's median (the runs' spread is in the log). */
const medianOf = <T extends object>(runs: T[]): T => {
  const first = runs[0];
  if (!first) throw new Error('no runs');
  const out = { ...first } as Record<string, unknown>;
  for (const [key, value] of Object.entries(first)) {
    if (typeof value !== 'number') continue;
    const sorted = runs.map((r) => (r as Record<string, number>)[key] ?? 0).sort((a, b) => a - b);
    out[key] = sorted[Math.floor(sorted.length / 2)];
  }
  return out as T;
};

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** A commit of the bench's database, by its index. */
const commitAt = (i: number) => ({ commit: hex(i, 'commit'), distro: hex(i, 'distro') });

/** A pseudo-random stream (the same on every run): commits and jobs for the mixed load. */
const stream = (seed: number) => {
  let state = seed >>> 0;
  return (n: number): number => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state % n;
  };
};

/**
 * CI's traffic: `readers` connections asking about random commits (`repo_status`) and random
 * jobs (`last_tested_repo?job_id=`), half each, while `writers` connections post votes on random
 * commits; both measured at once.
 */
const ciMix = async (
  url: string,
  auth: Record<string, string>,
  seconds: number,
  readers: number,
  writers: number,
  run = 1,
): Promise<{ reads: Load; writes: Load }> => {
  const random = stream(23 * run);
  // Commits CI votes on: successful builds (the bench's every 17th commit failed).
  const pick = (n: number): number => {
    for (;;) {
      const i = random(n);
      if (n !== COMMITS || i % 17 !== 0) return i;
    }
  };
  // Each run's votes are new ones, after the last run's.
  let vote = (run - 1) * 1_000_000;
  const [reads, writes] = await Promise.all([
    load({
      url,
      connections: readers,
      duration: seconds,
      requests: [
        {
          setupRequest: (req) => {
            const i = pick(COMMITS);
            if (i % 2 === 0) {
              const c = commitAt(i);
              return { ...req, path: `/api/repo_status?commit_hash=${c.commit}&distro_hash=${c.distro}` };
            }
            return { ...req, path: `/api/last_tested_repo?max_age=0&success=true&job_id=job-${pick(JOBS)}` };
          },
        },
      ],
    }),
    load({
      url,
      connections: writers,
      duration: seconds,
      requests: [
        {
          method: 'POST',
          path: '/api/report_result',
          headers: auth,
          setupRequest: (req) => {
            const c = commitAt(pick(COMMITS));
            vote++;
            return {
              ...req,
              body: JSON.stringify({
                job_id: `job-${vote % JOBS}`,
                commit_hash: c.commit,
                distro_hash: c.distro,
                url: `https://ci.example/mix/${vote}`,
                timestamp: BASE_TIME + COMMITS * 60 + vote,
                success: vote % 4 !== 0,
              }),
            };
          },
        },
      ],
    }),
  ]);
  return { reads, writes };
};

export const apiBench = async (argv: string[]): Promise<void> => {
  const { values: flags } = parseArgs({
    args: argv,
    options: {
      votes: { type: 'string', default: '100000' },
      kinds: { type: 'string', default: 'sqlite,sqlite-rollback,postgres' },
      seconds: { type: 'string', default: '10' },
      runs: { type: 'string', default: '1' },
      'pg-setting': { type: 'string', multiple: true, default: [] },
      connections: { type: 'string', default: '50' },
      root: { type: 'string', default: ROOT },
      out: { type: 'string' },
      'cpu-prof': { type: 'string' },
      'read-cache-ms': { type: 'string' },
      endpoints: {
        type: 'string',
        default: 'credential_burst,repo_status,last_tested_repo,report_result,ci_mix,health_under_attack',
      },
    },
  });
  const seconds = Number(flags.seconds);
  const runs = Number(flags.runs);
  COMMITS = Math.max(1_000, Math.round(Number(flags.votes) / VOTES_PER_COMMIT / 1_000) * 1_000);
  const connections = Number(flags.connections);
  const root = resolve(flags.root ?? ROOT);
  const wanted = new Set((flags.endpoints ?? '').split(','));
  const work = await mkdtemp(join(tmpdir(), 'dlrn-bench-api-'));
  const log = (line: string) => void process.stderr.write(`bench api: ${line}\n`);
  const temporal = await startDevServer({});
  const results: Record<string, Record<string, Load>> = {};
  const cpuUse: Record<string, CpuUse> = {};
  const planOf: Record<string, Record<string, string>> = {};
  try {
    for (const kind of (flags.kinds ?? '').split(',')) {
      log(`${kind}: making the database (${COMMITS} commits, ${COMMITS * VOTES_PER_COMMIT} votes)`);
      let url: string;
      let stopDb = async () => {};
      if (kind in SQLITE_WAL) url = `sqlite:///${join(work, `${kind}.sqlite`)}`;
      else if (kind === 'postgres') {
        const pg = await startPostgres(work, flags['pg-setting']);
        stopDb = () => pg.stop();
        url = pg.env.DLRN_TEST_POSTGRES_URL ?? '';
      } else throw new Error(`--kinds takes ${Object.keys(SQLITE_WAL).join(', ')} and postgres, not ${kind}`);
      const sample = await fillDatabase(url);
      for (const [question, plan] of Object.entries(plans)) log(`${kind}: plan of ${question}: ${plan}`);
      planOf[kind] = plans;
      const ini = join(work, `${kind}.ini`);
      await writeFile(
        ini,
        `[DEFAULT]\ndatadir=${join(work, 'data')}\nbaseurl=http://trunk.example/\ndatabase_connection=${url}\n` +
          `pkginfo_driver=dlrn.drivers.local.LocalDriver\n\n[temporal]\naddress=${temporal.address}\n\n` +
          `[api]\nlisten=127.0.0.1\nport=${await freePort()}\n` +
          (flags['read-cache-ms'] === undefined ? '' : `read_cache_ms=${flags['read-cache-ms']}\n`) +
          (SQLITE_WAL[kind] === undefined ? '' : `\n[database]\nsqlite_wal=${SQLITE_WAL[kind]}\n`),
      );
      let api = await startApi(root, ini, flags['cpu-prof']);
      try {
        const auth = { Authorization: basic('ci', 's3cret'), 'Content-Type': 'application/json' };
        const byEndpoint: Record<string, Load> = {};
        if (wanted.has('credential_burst')) {
          // A fresh server and 50 CI jobs posting votes with one user's credentials at once: the
          // password check (passlib's 656,000 rounds) is cold for all of them.
          log(`${kind}: credential burst on a fresh server`);
          const c = commitAt(COMMITS - 5);
          byEndpoint.credential_burst = await load({
            url: `${api.url}/api/report_result`,
            connections: 50,
            duration: Math.min(seconds, 5),
            method: 'POST',
            headers: auth,
            body: JSON.stringify({
              job_id: 'burst',
              commit_hash: c.commit,
              distro_hash: c.distro,
              url: 'https://ci.example/burst',
              timestamp: BASE_TIME + COMMITS * 60,
              success: true,
            }),
          });
          api.child.kill('SIGTERM');
          await new Promise((r) => api.child.once('exit', r));
          api = await startApi(root, ini, flags['cpu-prof']);
        }
        // One request first: the password check is paid once and remembered, as for a CI job.
        await fetch(`${api.url}/api/health`, { method: 'POST', headers: auth });
        const run = (path: string, extra: Partial<autocannon.Options> = {}) =>
          load({ url: `${api.url}${path}`, connections, duration: seconds, ...extra });
        if (wanted.has('repo_status')) {
          log(`${kind}: repo_status`);
          byEndpoint.repo_status = await run(
            `/api/repo_status?commit_hash=${sample.commit}&distro_hash=${sample.distro}`,
          );
        }
        if (wanted.has('last_tested_repo')) {
          log(`${kind}: last_tested_repo`);
          byEndpoint.last_tested_repo = await run('/api/last_tested_repo?max_age=0&success=true');
        }
        if (wanted.has('report_result')) {
          log(`${kind}: report_result`);
          byEndpoint.report_result = await run('/api/report_result', {
            method: 'POST',
            headers: auth,
            body: JSON.stringify({
              job_id: 'bench-ci',
              commit_hash: sample.commit,
              distro_hash: sample.distro,
              url: 'https://ci.example/bench',
              timestamp: BASE_TIME + COMMITS * 60,
              success: true,
            }),
          });
        }
        if (wanted.has('ci_mix')) {
          const mixes: { reads: Load; writes: Load }[] = [];
          const uses: CpuUse[] = [];
          for (let n = 1; n <= runs; n++) {
            log(
              `${kind}: CI mix (45 readers on random commits and jobs, 5 writers voting), run ${n} of ${runs}`,
            );
            const cpu = cpuMeter(api.child.pid);
            const mix = await ciMix(api.url, auth, seconds, 45, 5, n);
            const used = await cpu.stop();
            used.perCore = Math.round((mix.reads.requests + mix.writes.requests) / used.serverS);
            log(
              `${kind}: reads ${mix.reads.rps} req/s (p99 ${mix.reads.p99} ms), writes ${mix.writes.rps}/s;` +
                ` ${used.serverS} s of the API's CPU (${used.perCore} requests per CPU-second of the API),` +
                ` ${used.generatorS} s of the load generator's, the machine ${used.machineBusy}% busy`,
            );
            if (mix.reads.non2xx + mix.writes.non2xx > 0)
              log(`${kind}: CI mix had non-2xx answers; the API's last words:\n${api.tail().slice(-3_000)}`);
            mixes.push(mix);
            uses.push(used);
          }
          cpuUse[kind] = medianOf(uses);
          byEndpoint.ci_mix_reads = medianOf(mixes.map((m) => m.reads));
          byEndpoint.ci_mix_writes = medianOf(mixes.map((m) => m.writes));
        }
        if (wanted.has('health_under_attack')) {
          log(`${kind}: health while wrong passwords arrive (20/s)`);
          let attempt = 0;
          const attack = setInterval(() => {
            attempt++;
            void fetch(`${api.url}/api/health`, {
              method: 'POST',
              headers: {
                Authorization: basic(`user${attempt % 10}`, `wrong-${attempt}`),
                'X-Forwarded-For': `10.9.${attempt % 250}.${attempt % 7}`,
              },
            }).catch(() => undefined);
          }, 50);
          try {
            byEndpoint.health_under_attack = await load({
              url: `${api.url}/api/health`,
              connections: 5,
              duration: seconds,
            });
          } finally {
            clearInterval(attack);
          }
        }
        results[kind] = byEndpoint;
      } finally {
        api.child.kill('SIGTERM');
        await new Promise((r) => api.child.once('exit', r));
        await stopDb();
      }
    }
  } finally {
    await temporal.stop();
    await rm(work, { recursive: true, force: true });
  }
  const rows = Object.entries(results).flatMap(([kind, byEndpoint]) =>
    Object.entries(byEndpoint).map(
      ([endpoint, l]) =>
        `| ${kind} | ${endpoint} | ${l.rps} | ${l.p50} ms | ${l.p99} ms | ${l.requests} | ${l.non2xx}${codesOf(l)} | ${l.errors} |`,
    ),
  );
  const table = [
    '| database | endpoint | req/s | p50 | p99 | requests | non-2xx | errors |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
  const cpuTable = Object.keys(cpuUse).length
    ? [
        '',
        '| database | CI mix: API CPU | requests per API CPU-second | load generator CPU | machine busy |',
        '| --- | --- | --- | --- | --- |',
        ...Object.entries(cpuUse).map(
          ([kind, c]) =>
            `| ${kind} | ${c.serverS} s | ${c.perCore} | ${c.generatorS} s | ${c.machineBusy}% |`,
        ),
      ].join('\n')
    : '';
  process.stdout.write(`${table}\n${cpuTable}\n`);
  if (flags.out)
    await writeFile(
      flags.out,
      `${JSON.stringify({ date: new Date().toISOString(), root, seconds, connections, results, cpuUse, plans: planOf, table }, null, 2)}\n`,
    );
};
