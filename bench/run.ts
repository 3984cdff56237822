/**
 * `npm run bench -- [--sizes 12,300,2000] [--repeat 3] [--floor-max 300] [--sites DIR] [--smoke]`
 *
 * Builds synthetic sites (scripts/make-demo.ts --size N: tiny noarch packages, some requiring
 * others) with `dlrn` exactly as a user runs it (local mode, its own dev server), and beside it
 * the same work done by a plain sequential script (bench/floor.sh). Reports, as a table and in
 * bench/results.json, the figures design.md's "Performance" section sets targets for. Run-level
 * figures are medians over `--repeat` runs at the smallest size and single runs above it; per
 * build figures are percentiles over every build of the run. `--smoke` is CI's few-commit run:
 * every step once on a four-package site, results in the work directory, nothing asserted on
 * time.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { isProcessAlive } from '../lib/local-temporal.ts';
import { startDevServer } from '../lib/temporal-dev-server.ts';
import {
  percentile,
  readTimings,
  runCommand,
  sampleMemory,
  spread,
  unionMs,
  WORK_TOOLS,
  type CommandRun,
  type Spread,
} from './measure.ts';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');
const node = process.execPath;
const dlrnBin = join(ROOT, 'bin', 'dlrn.js');

// `npm run bench -- api ...`: the API's bench (bench/api.ts), nothing else.
if (process.argv[2] === 'api') {
  await (await import('./api.ts')).apiBench(process.argv.slice(3));
  process.exit(0);
}
// `npm run bench -- promotion ...`: automatic promotion's latency (bench/promotion.ts).
if (process.argv[2] === 'promotion') {
  await (await import('./promotion.ts')).promotionBench(process.argv.slice(3));
  process.exit(0);
}

const { values: flags } = parseArgs({
  options: {
    sizes: { type: 'string', default: '12,300,2000' },
    repeat: { type: 'string', default: '3' },
    'floor-max': { type: 'string', default: '300' },
    smoke: { type: 'boolean', default: false },
    workdir: { type: 'string' },
    sites: { type: 'string' },
    out: { type: 'string' },
  },
});
const smoke = flags.smoke ?? false;
const sizes = smoke ? [4] : (flags.sizes ?? '').split(',').map(Number);
const repeat = smoke ? 1 : Number(flags.repeat);
const floorMax = smoke ? 4 : Number(flags['floor-max']);
if (sizes.some((n) => !Number.isInteger(n) || n < 1) || !(repeat >= 1))
  throw new Error('--sizes takes positive integers separated by commas, --repeat a positive integer');
const work = flags.workdir ?? (await mkdtemp(join(tmpdir(), 'dlrn-bench-')));
const out = flags.out ?? (smoke ? join(work, 'results.json') : join(ROOT, 'bench', 'results.json'));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string): void => void process.stderr.write(`bench: ${line}\n`);
const round = (n: number, digits = 0): number => Number(n.toFixed(digits));
const s = (ms: number): number => round(ms / 1000, 2);

const mustSucceed = (what: string, run: CommandRun): CommandRun => {
  if (run.code !== 0)
    throw new Error(`${what} exited ${run.code}\n${run.stdout.slice(-2000)}\n${run.stderr.slice(-2000)}`);
  return run;
};

/** A synthetic site of `n` packages, made once per size (kept in `--sites DIR` for reuse). */
const makeSite = async (n: number): Promise<string> => {
  const site = join(flags.sites ?? work, `site-${n}`);
  if (existsSync(join(site, 'projects.ini'))) return site;
  mustSucceed(
    `make-demo --size ${n}`,
    await runCommand(node, [
      '--import',
      'tsx',
      join(ROOT, 'scripts', 'make-demo.ts'),
      '--size',
      String(n),
      site,
    ]),
  );
  return site;
};

const floorRun = async (site: string, i: number): Promise<number> => {
  for (const name of await readdir(join(site, 'upstream')))
    execFileSync('git', ['-C', join(site, 'upstream', name), 'worktree', 'prune']);
  const dir = join(work, `floor-${i}`);
  await rm(dir, { recursive: true, force: true });
  const run = mustSucceed('floor.sh', await runCommand('bash', [join(ROOT, 'bench', 'floor.sh'), site, dir]));
  await rm(dir, { recursive: true, force: true });
  return run.ms;
};

// Local mode on ports of the bench's own, whatever else runs on the machine, and below the
// kernel's ephemeral range (32768 and up here): a port from that range, kept for the whole bench,
// can be handed to some outgoing connection between two runs (as 7233 and 8233 never are).
const portBelowEphemeral = async (): Promise<number> => {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const free = await new Promise<boolean>((answer) => {
      const server = createServer();
      server.once('error', () => answer(false));
      server.listen(port, '127.0.0.1', () => server.close(() => answer(true)));
    });
    if (free) return port;
  }
};
const localPorts = [await portBelowEphemeral()];
while (localPorts.length < 2) {
  const port = await portBelowEphemeral();
  if (!localPorts.includes(port)) localPorts.push(port);
}
const dlrn = (site: string, extra: string[], env: NodeJS.ProcessEnv = {}, alsoWatch: number[] = []) =>
  runCommand(
    dlrnBin,
    [
      '--config-file',
      join(site, 'projects.ini'),
      '--config-override',
      `temporal.local_port=${localPorts[0]}`,
      '--config-override',
      `temporal.ui_port=${localPorts[1]}`,
      ...extra,
    ],
    {
      cwd: site,
      env: { ...process.env, ...env },
      memory: true,
      alsoWatch,
    },
  );

interface RunFigures {
  workers: number;
  wallMs: number;
  builds: number;
  peakMb: Record<string, number>;
  overheadMs: { p50: number; p95: number };
  buildWallMs: { p50: number; p95: number };
  /** Where the build's time went, summed over builds, by activity and by tool (ms). */
  activityMs: Record<string, number>;
  toolMs: Record<string, number>;
  postBuildMs: Record<string, number>;
  runHistory: { runs: number; maxEvents: number; maxBytes: number; totalEvents: number; totalBytes: number };
  buildHistory: { medianEvents: number; maxEvents: number; medianBytes: number; maxBytes: number };
}

/** Reads the run's workflows from the history dlrn left in datadir, with the worker's timings. */
const analyse = async (site: string, timingsFile: string, workers: number, run: CommandRun) => {
  // dlrn asked its dev server to stop and left; it exits after a short drain.
  const stopping = Number(await readFile(join(site, 'data', 'temporal.stopping'), 'utf8').catch(() => '0'));
  for (let i = 0; i < 150 && stopping > 0 && isProcessAlive(stopping); i++) await sleep(100);
  const server = await startDevServer({ dbFile: join(site, 'data', 'temporal.sqlite') });
  const connection = await Connection.connect({ address: server.address });
  try {
    const client = new Client({ connection });
    const list = async (query: string) => {
      const found = [];
      for await (const w of client.workflow.list({ query })) found.push(w);
      return found;
    };
    const builds = await list(`WorkflowType = 'buildCommit'`);
    const runs = await list(`WorkflowType = 'run'`);
    const timings = await readTimings(timingsFile);
    const byWorkflow = new Map<string, typeof timings>();
    for (const t of timings) byWorkflow.set(t.workflowId, [...(byWorkflow.get(t.workflowId) ?? []), t]);
    const overheads: number[] = [];
    const walls: number[] = [];
    for (const b of builds) {
      if (!b.closeTime) continue;
      const wall = b.closeTime.getTime() - b.startTime.getTime();
      const tools = (byWorkflow.get(b.workflowId) ?? []).flatMap((t) =>
        WORK_TOOLS.flatMap((name) => t.tools[name] ?? []),
      );
      walls.push(wall);
      overheads.push(wall - unionMs(tools));
    }
    const activityMs: Record<string, number> = {};
    const toolMs: Record<string, number> = {};
    for (const t of timings) {
      activityMs[t.activity] = round((activityMs[t.activity] ?? 0) + t.end - t.start);
      for (const [name, intervals] of Object.entries(t.tools))
        toolMs[name] = round((toolMs[name] ?? 0) + unionMs(intervals));
    }
    // The k-th post-build of a first run publishes a repository of k packages.
    const postBuilds = timings.filter((t) => t.activity === 'postBuild').sort((a, b) => a.end - b.end);
    const postBuildMs: Record<string, number> = {};
    for (const k of [10, 100, 300, 1000]) {
      const window = postBuilds.slice(Math.max(0, k - 6), k + 5).map((t) => t.end - t.start);
      if (postBuilds.length >= k) postBuildMs[String(k)] = round(spread(window).median);
    }
    const events = builds.map((b) => b.historyLength);
    const bytes = builds.map((b) => b.historySize ?? 0);
    const figures: RunFigures = {
      workers,
      wallMs: round(run.ms),
      builds: builds.length,
      peakMb: run.peakMb,
      overheadMs: { p50: round(percentile(overheads, 50)), p95: round(percentile(overheads, 95)) },
      buildWallMs: { p50: round(percentile(walls, 50)), p95: round(percentile(walls, 95)) },
      activityMs,
      toolMs,
      postBuildMs,
      runHistory: {
        runs: runs.length,
        maxEvents: Math.max(...runs.map((r) => r.historyLength)),
        maxBytes: Math.max(...runs.map((r) => r.historySize ?? 0)),
        totalEvents: runs.reduce((a, r) => a + r.historyLength, 0),
        totalBytes: runs.reduce((a, r) => a + (r.historySize ?? 0), 0),
      },
      buildHistory: {
        medianEvents: spread(events).median,
        maxEvents: Math.max(...events),
        medianBytes: spread(bytes).median,
        maxBytes: Math.max(...bytes),
      },
    };
    return figures;
  } finally {
    await connection.close();
    await server.stop();
  }
};

/** A first run of the whole site with `workers` builds at once, from an empty datadir. */
const firstRun = async (site: string, n: number, workers: number, i: number): Promise<RunFigures> => {
  await rm(join(site, 'data'), { recursive: true, force: true });
  const timings = join(work, `timings-${n}-${workers}-${i}.jsonl`);
  await rm(timings, { force: true });
  log(`N=${n}: dlrn first run, workers=${workers} (${i + 1})`);
  const run = mustSucceed(
    `dlrn on ${n} packages`,
    await dlrn(site, ['--config-override', `DEFAULT.workers=${workers}`], { DLRN_TIMINGS: timings }),
  );
  if (!run.stdout.includes(`${n} succeeded`))
    throw new Error(`not every build succeeded:\n${run.stdout.slice(-3000)}`);
  const figures = await analyse(site, timings, workers, run);
  if (!figures.toolMs.rpmbuild || figures.builds !== n)
    throw new Error(`the run left ${figures.builds} build workflows and no rpmbuild timings: ${timings}`);
  return figures;
};

/** Time from starting `dlrn-worker` (cluster mode) to its "polling" line, and its command. */
const workerReady = async (site: string, address: string, queue: string) => {
  const started = performance.now();
  const child = spawn(
    join(ROOT, 'bin', 'dlrn-worker.js'),
    [
      '--config-file',
      join(site, 'projects.ini'),
      '--config-override',
      `temporal.address=${address}`,
      '--config-override',
      `temporal.task_queue=${queue}`,
    ],
    { cwd: site },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (c: Buffer) => {
      output += c.toString();
      if (output.includes('polling task queue')) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`dlrn-worker exited ${code}: ${output}`)));
  });
  return { ms: performance.now() - started, child };
};

/** Start-up of each command; the worker's; and each process's memory in cluster mode. */
/** Start-up figures are medians of at least three runs; CI's smoke run checks they can be taken, once. */
const startupRepeat = smoke ? 1 : Math.max(repeat, 3);

const startup = async (site: string, n: number) => {
  const times = async (args: string[]) => {
    const ms: number[] = [];
    for (let i = 0; i < startupRepeat; i++) ms.push(mustSucceed(args.join(' '), await dlrn(site, args)).ms);
    return spread(ms.map((v) => round(v)));
  };
  const figures: Record<string, Spread> = {
    '--help': await times(['--help']),
    '--version': await times(['--version']),
    '--status': await times(['--status']),
  };
  const server = await startDevServer({});
  try {
    const ready: number[] = [];
    for (let i = 0; i < startupRepeat; i++) {
      const { ms, child } = await workerReady(site, server.address, `bench-ready-${i}`);
      ready.push(round(ms));
      child.kill('SIGTERM');
    }
    figures['worker ready to poll'] = spread(ready);
    // Cluster mode, one worker process: the memory of the worker, the client and the server.
    log(`N=${n}: cluster-mode run for each process's memory`);
    await rm(join(site, 'data'), { recursive: true, force: true });
    const { child } = await workerReady(site, server.address, 'bench-cluster');
    const workerMemory = sampleMemory(() => (child.pid ? [child.pid] : []));
    const run = mustSucceed(
      'dlrn in cluster mode',
      await dlrn(
        site,
        [
          '--config-override',
          `temporal.address=${server.address}`,
          '--config-override',
          'temporal.task_queue=bench-cluster',
        ],
        {},
        server.process.pid ? [server.process.pid] : [],
      ),
    );
    const peaks = { ...run.peakMb, ...workerMemory.stop() };
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    return { startupMs: figures, clusterPeakMb: peaks };
  } finally {
    await server.stop();
  }
};

/** The figures of one site size. */
interface SizeFigures {
  floorMs?: Spread;
  runs: RunFigures[];
  wallMs: Partial<Record<'workers1' | 'workers2', Spread>>;
  /** Our median wall time over the floor's, by workers. */
  ratioToFloor: Partial<Record<'workers1' | 'workers2', number>>;
  /** Commits per minute with two workers over one. */
  speedupTwoWorkers?: number;
  nothingNewMs?: Spread;
  startupMs?: Record<string, Spread>;
  clusterPeakMb?: Record<string, number>;
}

const bySize: Record<string, SizeFigures> = {};
const results = {
  date: new Date().toISOString(),
  commit: execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).toString().trim(),
  machine: {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memoryGb: round(totalmem() / 2 ** 30, 1),
    node: process.version,
  },
  options: { sizes, repeat, floorMax, smoke },
  sizes: bySize,
  table: '',
};

for (const n of sizes) {
  log(`N=${n}: making the site`);
  const site = await makeSite(n);
  const reps = n <= 12 ? repeat : 1;
  const entry: SizeFigures = { runs: [], wallMs: {}, ratioToFloor: {} };
  if (n <= floorMax) {
    const floor: number[] = [];
    for (let i = 0; i < reps; i++) {
      log(`N=${n}: floor script (${i + 1})`);
      floor.push(await floorRun(site, i));
    }
    entry.floorMs = spread(floor.map((v) => round(v)));
  }
  for (const workers of n <= floorMax ? [1, 2] : [2])
    for (let i = 0; i < reps; i++) entry.runs.push(await firstRun(site, n, workers, i));
  for (const workers of [1, 2] as const) {
    const mine = entry.runs.filter((r) => r.workers === workers);
    if (mine.length === 0) continue;
    const wall = spread(mine.map((r) => r.wallMs));
    entry.wallMs[`workers${workers}`] = wall;
    if (entry.floorMs) entry.ratioToFloor[`workers${workers}`] = round(wall.median / entry.floorMs.median, 2);
  }
  const { workers1: one, workers2: two } = entry.wallMs;
  if (one && two) entry.speedupTwoWorkers = round(one.median / two.median, 2);
  if (n <= 12) {
    // The site is built (the last first run): a run that finds nothing new.
    const again: number[] = [];
    for (let i = 0; i < reps; i++) again.push(mustSucceed('dlrn with nothing new', await dlrn(site, [])).ms);
    entry.nothingNewMs = spread(again.map((v) => round(v)));
    Object.assign(entry, await startup(site, n));
  }
  bySize[String(n)] = entry;
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
}

// The table: one line per size.
const sec = (v: Spread | undefined): string => (v ? `${s(v.median)} s` : '');
const lines = [
  '| N | floor | ours, 1 worker | ours, 2 workers | ratio to floor (2w) | 2w speed-up | overhead p50 / p95 | post-build at k packages | run history (largest run of the chain) | one build history | peak RSS |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];
for (const [n, e] of Object.entries(bySize)) {
  const last = e.runs.at(-1);
  if (!last) continue;
  lines.push(
    `| ${n} | ${sec(e.floorMs)} | ${sec(e.wallMs.workers1)} | ${sec(e.wallMs.workers2)} | ${e.ratioToFloor.workers2 ?? ''} | ${e.speedupTwoWorkers ?? ''} | ` +
      `${last.overheadMs.p50} / ${last.overheadMs.p95} ms | ${Object.entries(last.postBuildMs)
        .map(([k, v]) => `${k}: ${v} ms`)
        .join(', ')} | ` +
      `${last.runHistory.runs} runs, ${last.runHistory.maxEvents} events, ${round(last.runHistory.maxBytes / 1e6, 2)} MB | ` +
      `${last.buildHistory.medianEvents} events, ${round(last.buildHistory.medianBytes / 1e3, 1)} KB | ` +
      `${Object.entries(last.peakMb)
        .map(([k, v]) => `${k} ${v} MB`)
        .join(', ')} |`,
  );
}
const small = Object.values(bySize).find((e) => e.startupMs);
if (small?.startupMs && small.nothingNewMs) {
  lines.push('', '| start-up | median | min–max |', '| --- | --- | --- |');
  for (const [k, v] of Object.entries(small.startupMs))
    lines.push(`| ${k} | ${s(v.median)} s | ${s(v.min)}–${s(v.max)} s |`);
  const again = small.nothingNewMs;
  lines.push(`| run with nothing new | ${s(again.median)} s | ${s(again.min)}–${s(again.max)} s |`);
  lines.push(
    '',
    `Cluster mode, peak RSS: ${Object.entries(small.clusterPeakMb ?? {})
      .map(([k, v]) => `${k} ${v} MB`)
      .join(', ')}`,
  );
}
results.table = lines.join('\n');
await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`${lines.join('\n')}\n\nresults: ${out}\n`);
if (smoke || !flags.workdir) await rm(work, { recursive: true, force: true });
