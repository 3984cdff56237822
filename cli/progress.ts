/**
 * Live progress of a run for the terminal, the same in local and cluster mode: polls the run
 * workflow's `progress` query and its pending activities, and prints a line when discovery moves
 * on, when a package waits on a git server or a step waits on the database for more than a few
 * seconds, when a package is skipped, when a build enters a step or ends, and when Temporal
 * stops and starts answering.
 */
import { defaultPayloadConverter, WorkflowFailedError, type Client } from '@temporalio/client';
import type { DiscoveryProgress } from '../activities/index.ts';
import type { RunBuild, RunProgress } from '../workflows/run.ts';
import { causesOf, PROGRESS_QUERY } from '../lib/domain/temporal-names.ts';
import { isInterrupted } from './interrupt.ts';
import { say } from './output.ts';

/** What an activity's heartbeat may say: its step, and what it waits for (lib/db, git). */
interface Heartbeat {
  step?: string;
  /** A wait outside us: `{ what: 'the database postgresql://...', since, detail }`. */
  waitingFor?: { what: string; since: number; detail?: string };
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

/** A wait is told once it has lasted this long (shorter ones are just work). */
const TELL_WAITS_AFTER_MS = 5_000;

/** Discovery's count is told at most this often. */
const DISCOVERY_EVERY_MS = 5_000;

/** A call that failed because Temporal is not reachable (restarting, killed, or unplugged). */
export const isTemporalUnavailable = (err: unknown): boolean => {
  // Temporal answered: the workflow failed, and whatever its causes say is not about Temporal.
  if (err instanceof WorkflowFailedError) return false;
  return causesOf(err).some((e) => {
    const code = (e as { code?: unknown }).code;
    if (code === 14 || code === 4) return true; // gRPC UNAVAILABLE, DEADLINE_EXCEEDED
    return /UNAVAILABLE|transport error|Connection refused|ECONNREFUSED/i.test(e.message);
  });
};

/** Lines told once per subject, so a poll every second and a wait told elsewhere do not repeat. */
const told = new Set<string>();

/** Says `line` unless the same subject was told already (until `forget`). */
export const tellOnce = (subject: string, line: string): void => {
  if (told.has(subject)) return;
  told.add(subject);
  say(line);
};

export const forget = (subject: string): void => {
  told.delete(subject);
};

/** Temporal stopped answering, or answers again: told once per outage. */
export const temporalDown = (address: string): void =>
  tellOnce('temporal-down', `Temporal at ${address} is not answering; waiting for it to come back...`);
export const temporalBack = (address: string): void => {
  if (!told.has('temporal-down')) return;
  forget('temporal-down');
  say(`Temporal at ${address} is answering again.`);
};

const seconds = (ms: number): number => Math.max(0, Math.round(ms / 1000));

/** Tells a wait of a heartbeat once it has lasted a few seconds. */
const tellWait = (who: string, beat: Heartbeat | undefined, now: number): void => {
  const wait = beat?.waitingFor;
  if (!wait || now - wait.since < TELL_WAITS_AFTER_MS) return;
  tellOnce(
    `wait ${who} ${wait.what} ${wait.since}`,
    `  ${who}: waiting for ${wait.what} (${seconds(now - wait.since)} s so far)${wait.detail ? `: ${wait.detail}` : ''}`,
  );
};

type Description = Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['describe']>>;
type PendingActivity = NonNullable<Description['raw']['pendingActivities']>[number];

const detailsOf = <T>(pending: PendingActivity | undefined): T | undefined => {
  const payload = pending?.heartbeatDetails?.payloads?.[0];
  return payload ? defaultPayloadConverter.fromPayload<T>(payload) : undefined;
};

/** The step a running build is in (its pending activity, named by PHASES), and its heartbeat. */
const stepOf = async (
  client: Client,
  build: RunBuild,
): Promise<{ phase: string; beat: Heartbeat | undefined } | undefined> => {
  try {
    const description = await client.workflow.getHandle(build.workflowId).describe();
    const pending = description.raw.pendingActivities?.[0];
    const type = pending?.activityType?.name ?? undefined;
    if (!type) return undefined;
    const phase = PHASES[type] ?? type;
    const beat = detailsOf<Heartbeat>(pending);
    // Post-build's one wait worth telling: the lock other builds hold.
    return { phase: beat?.step?.startsWith('waiting') ? `${phase} (${beat.step})` : phase, beat };
  } catch {
    return undefined;
  }
};

/** Discovery as it goes: the count, each package waiting on a git server, each skip. */
const discoveryFollower = (client: Client, workflowId: string) => {
  let lastCount = -1;
  let lastCountAt = 0;
  return async (): Promise<void> => {
    let pending: PendingActivity | undefined;
    try {
      const description = await client.workflow.getHandle(workflowId).describe();
      pending = description.raw.pendingActivities?.find((a) => a.activityType?.name === 'planRun');
    } catch {
      return;
    }
    const progress = detailsOf<DiscoveryProgress & Heartbeat>(pending);
    if (!progress || progress.step !== 'discovering') return;
    const now = Date.now();
    tellOnce('discovery', `Discovering new commits of ${progress.total} packages...`);
    if (progress.done !== lastCount && now - lastCountAt >= DISCOVERY_EVERY_MS) {
      if (lastCount >= 0) say(`  discovering: ${progress.done}/${progress.total} packages`);
      lastCount = progress.done;
      lastCountAt = now;
    }
    for (const wait of progress.waiting ?? []) {
      if (now - wait.since < TELL_WAITS_AFTER_MS) continue;
      tellOnce(
        `git ${wait.name} ${wait.since}`,
        `  waiting on git for ${wait.name}: ${wait.op} ${wait.url} (${seconds(now - wait.since)} s so far)`,
      );
    }
    for (const skipped of progress.skipped ?? [])
      tellOnce(`skip ${skipped.name}`, `  skipped ${skipped.name}: ${skipped.error}`);
    tellWait('discovery', progress, now);
  };
};

const hasEnded = (status: RunBuild['status']): boolean =>
  status === 'SUCCESS' || status === 'FAILED' || status === 'RETRY';

/**
 * Follows a run until `done` resolves, printing discovery, each step a build enters, each end,
 * and what is waited for; each view of the builds also goes to `observe` (DLRN's log lines,
 * cli/dlrn-log.ts). `address` names Temporal when it stops answering.
 */
export const followRun = async (
  client: Client,
  workflowId: string,
  done: Promise<unknown>,
  observe: (builds: RunBuild[]) => void = () => {},
  address = 'the configured address',
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
  const discovery = discoveryFollower(client, workflowId);
  let finished = false;
  void done.finally(() => (finished = true)).catch(() => undefined);
  while (!finished) {
    await Promise.race([done.catch(() => undefined), new Promise((r) => setTimeout(r, 1500))]);
    if (isInterrupted()) return;
    if (finished) break;
    let progress: RunProgress;
    try {
      progress = await client.workflow.getHandle(workflowId).query<RunProgress>(PROGRESS_QUERY);
      temporalBack(address);
    } catch (err) {
      if (isTemporalUnavailable(err)) temporalDown(address);
      continue;
    }
    if (progress.phase === 'discovering') {
      await discovery();
      continue;
    }
    // Skips discovery made after the last look at it (the last packages it waited on).
    for (const skipped of progress.skipped ?? [])
      tellOnce(`skip ${skipped.name}`, `  skipped ${skipped.name}: ${skipped.error}`);
    observe(progress.builds);
    const total = progress.builds.length;
    const now = Date.now();
    // One line per change: a build entering a step, a build ending (each end counted once).
    for (const build of progress.builds) {
      if (build.status !== 'RUNNING') continue;
      const step = await stepOf(client, build);
      if (step && phases.get(build.workflowId) !== step.phase) {
        phases.set(build.workflowId, step.phase);
        say(`  [${ended.size}/${total}] building ${nameOf(build)}: ${step.phase}`);
      }
      tellWait(nameOf(build), step?.beat, now);
    }
    showEnds(progress.builds);
  }
  // Builds that ended after the last poll.
  const result = (await done.catch(() => undefined)) as { builds?: RunBuild[] } | undefined;
  if (result?.builds) showEnds(result.builds);
};
