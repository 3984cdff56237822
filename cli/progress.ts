/**
 * Live progress of a run for the terminal: polls the run workflow's `progress` query and the step
 * each running build is in, and prints a line when a build enters a step or ends.
 */
import { defaultPayloadConverter, type Client } from '@temporalio/client';
import type { RunBuild, RunProgress } from '../workflows/run.ts';
import { say } from './output.ts';
import { PROGRESS_QUERY } from '../lib/domain/temporal-names.ts';

interface Heartbeat {
  step?: string;
}

/** The build steps by one name each, as DLRN's own words for them (design.md). */
const PHASES: Record<string, string> = {
  claimBuild: 'claim',
  awaitBuild: 'waiting for another run',
  prepareSources: 'clone',
  preprocess: 'preprocess',
  buildSrpm: 'srpm',
  buildRpm: 'rpm',
  recordResult: 'record',
  removeWorkspace: 'cleanup',
  postBuild: 'post-build',
  rsyncBuild: 'rsync',
  sendFailureMail: 'mail',
  submitReview: 'review',
};

/** The step a running build is in: its pending activity, named by PHASES. */
const phaseOf = async (client: Client, build: RunBuild): Promise<string | undefined> => {
  try {
    const description = await client.workflow.getHandle(build.workflowId).describe();
    const pending = description.raw.pendingActivities?.[0];
    const type = pending?.activityType?.name ?? undefined;
    if (!type) return undefined;
    const phase = PHASES[type] ?? type;
    const payload = pending?.heartbeatDetails?.payloads?.[0];
    const step = payload ? defaultPayloadConverter.fromPayload<Heartbeat>(payload).step : undefined;
    // Post-build's one wait worth telling: the lock other builds hold.
    return step?.startsWith('waiting') ? `${phase} (${step})` : phase;
  } catch {
    return undefined;
  }
};

const hasEnded = (status: RunBuild['status']): boolean =>
  status === 'SUCCESS' || status === 'FAILED' || status === 'RETRY';

/**
 * Follows a run until `done` resolves, printing each step a build enters and each end; each view of
 * the builds also goes to `observe` (DLRN's log lines, cli/dlrn-log.ts).
 */
export const followRun = async (
  client: Client,
  workflowId: string,
  done: Promise<unknown>,
  observe: (builds: RunBuild[]) => void = () => {},
): Promise<void> => {
  const phases = new Map<string, string>();
  const ended = new Set<string>();
  const nameOf = (build: RunBuild) => `${build.projectName} ${build.commitHash.slice(0, 8)}`;
  const showEnds = (builds: RunBuild[]) => {
    for (const build of builds) {
      if (!hasEnded(build.status) || ended.has(build.workflowId)) continue;
      ended.add(build.workflowId);
      const word = build.status === 'SUCCESS' ? 'built ' : build.status === 'RETRY' ? 'RETRY ' : 'FAILED';
      say(
        `  [${ended.size}/${builds.length}] ${word} ${nameOf(build)}${build.elsewhere ? ' (by another run)' : ''}`,
      );
    }
  };
  let finished = false;
  void done.finally(() => (finished = true)).catch(() => undefined);
  while (!finished) {
    await Promise.race([done.catch(() => undefined), new Promise((r) => setTimeout(r, 1500))]);
    if (finished) break;
    let progress: RunProgress;
    try {
      progress = await client.workflow.getHandle(workflowId).query<RunProgress>(PROGRESS_QUERY);
    } catch {
      continue;
    }
    observe(progress.builds);
    const total = progress.builds.length;
    // One line per change: a build entering a step, a build ending (each end counted once).
    for (const build of progress.builds) {
      if (build.status !== 'RUNNING') continue;
      const phase = await phaseOf(client, build);
      if (phase && phases.get(build.workflowId) !== phase) {
        phases.set(build.workflowId, phase);
        say(`  [${ended.size}/${total}] building ${nameOf(build)}: ${phase}`);
      }
    }
    showEnds(progress.builds);
  }
  // Builds that ended after the last poll.
  const result = (await done.catch(() => undefined)) as { builds?: RunBuild[] } | undefined;
  if (result?.builds) showEnds(result.builds);
};
