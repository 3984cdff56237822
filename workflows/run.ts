import { proxyActivities } from '@temporalio/workflow';
import type {
  Activities,
  DriverRun,
  RunProgramResult,
  OrderResult,
  PackageStatus,
  RecheckResult,
} from '../activities/index.ts';
import { byBuildOrder, byCommitTime } from '../lib/domain/discovery.ts';
import type { CommitCandidate } from '../lib/domain/packages.ts';
import { mapLimit, selectPackages } from '../lib/domain/select.ts';

/**
 * One invocation of `dlrn`. `plan` discovers and orders what would be built (`--dry-run`),
 * `status` reports the last build of each package (`--status`), `recheck` forgets the last
 * build of the named packages (`--recheck`). Builds join in the commit-build issue.
 */
export interface RunInput {
  mode: 'plan' | 'status' | 'recheck';
  driverRun: DriverRun;
  packageNames: string[];
  projectNames: string[];
  headOnly: boolean;
  dev: boolean;
  /** `--order`: build in spec dependency order. */
  order: boolean;
  /** `--run PROGRAM`: run it for each package head instead of building (implies head-only). */
  runProgram?: string;
  /** `--build-env VAR=VALUE` items. */
  buildEnv: string[];
  /** `--stop`: end at the first failure. */
  stop: boolean;
  forceRecheck?: boolean;
  /** Packages discovered at once (DLRN uses one process per CPU). */
  discoveryConcurrency: number;
}

export interface RunResult {
  /** Names of the packages selected. */
  packages: string[];
  unknownNames: string[];
  skipped: { name: string; error: string }[];
  /** Commits to build, in build order. */
  queue: CommitCandidate[];
  order?: OrderResult;
  status?: PackageStatus[];
  recheck?: RecheckResult[];
  /** `--run`: the program's result for each commit it ran for, in queue order. */
  programRuns?: (RunProgramResult & { projectName: string; commitHash: string })[];
}

const { listPackages, discoverCommits, writeSkiplist, orderBuilds, packageStatus, recheckPackages } =
  proxyActivities<Activities>({
    startToCloseTimeout: '30 minutes',
    retry: { maximumAttempts: 3, initialInterval: '2 seconds' },
  });

// A user's program runs once: its exit code is the answer, a retry could repeat its effects.
const { runProgram } = proxyActivities<Activities>({
  startToCloseTimeout: '4 hours',
  retry: { maximumAttempts: 1 },
});

export async function run(input: RunInput): Promise<RunResult> {
  const all = await listPackages(input.driverRun);
  const { selected, unknown } = selectPackages(all, input.packageNames, input.projectNames);
  const base: RunResult = {
    packages: selected.map((p) => p.name),
    unknownNames: unknown,
    skipped: [],
    queue: [],
  };
  if (input.mode === 'status') return { ...base, status: await packageStatus(selected) };
  if (input.mode === 'recheck') {
    return {
      ...base,
      recheck: await recheckPackages({ names: base.packages, force: input.forceRecheck ?? false }),
    };
  }

  const headOnly = input.headOnly || input.runProgram !== undefined;
  const keepBuilt = input.dev || input.runProgram !== undefined;
  const found = await mapLimit(
    selected.filter((pkg) => pkg.types.includes('rpm')),
    input.discoveryConcurrency,
    async (pkg) => ({
      pkg,
      result: await discoverCommits({ pkg, driverRun: input.driverRun, type: 'rpm', headOnly, keepBuilt }),
    }),
  );
  const skipped = found.flatMap(({ pkg, result }) =>
    result.skipped ? [{ name: pkg.name, error: result.error ?? 'skipped' }] : [],
  );
  await writeSkiplist(skipped.map((s) => s.name));
  const commits = found.flatMap(({ result }) => result.commits);
  let planned: RunResult = { ...base, skipped, queue: byCommitTime(commits) };
  if (input.order && commits.length > 0) {
    const queued = new Set(commits.map((c) => c.projectName));
    const order = await orderBuilds(selected.filter((p) => queued.has(p.name)));
    planned = { ...planned, queue: byBuildOrder(commits, order.order), order };
  }
  if (input.runProgram === undefined) return planned;

  const programRuns: NonNullable<RunResult['programRuns']> = [];
  for (const commit of planned.queue) {
    const outcome = await runProgram({ commit, program: input.runProgram, buildEnv: input.buildEnv });
    programRuns.push({ ...outcome, projectName: commit.projectName, commitHash: commit.commitHash });
    if (outcome.exitCode !== 0 && input.stop) break;
  }
  return { ...planned, programRuns };
}
