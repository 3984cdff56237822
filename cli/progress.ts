/**
 * Live progress of a run for the terminal: polls the run workflow's `progress` query and the
 * heartbeat of each running build (the last lines of its log), and prints what changed.
 */
import { defaultPayloadConverter, type Client } from '@temporalio/client';
import type { RunBuild, RunProgress } from '../workflows/run.ts';
import { say } from './output.ts';
import { PROGRESS_QUERY } from '../lib/domain/temporal-names.ts';

interface Heartbeat {
  step?: string;
  logTail?: string[];
}

const lastLogLine = async (client: Client, build: RunBuild): Promise<string | undefined> => {
  try {
    const description = await client.workflow.getHandle(build.workflowId).describe();
    const pending = description.raw.pendingActivities?.[0];
    const payload = pending?.heartbeatDetails?.payloads?.[0];
    if (!payload) return pending?.activityType?.name ?? undefined;
    const details = defaultPayloadConverter.fromPayload<Heartbeat>(payload);
    const line = details.logTail?.filter((l) => l.trim() !== '').at(-1);
    return `${details.step ?? pending.activityType?.name ?? ''}${line ? `: ${line.slice(0, 100)}` : ''}`;
  } catch {
    return undefined;
  }
};

const hasEnded = (status: RunBuild['status']): boolean =>
  status === 'SUCCESS' || status === 'FAILED' || status === 'RETRY';

/**
 * Follows a run until `done` resolves, printing build starts, ends and log lines; each view of
 * the builds also goes to `observe` (DLRN's log lines, cli/dlrn-log.ts).
 */
export const followRun = async (
  client: Client,
  workflowId: string,
  done: Promise<unknown>,
  observe: (builds: RunBuild[]) => void = () => {},
): Promise<void> => {
  const seen = new Map<string, string>();
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
    const ended = progress.builds.filter((b) => hasEnded(b.status)).length;
    for (const build of progress.builds) {
      const name = `${build.projectName} ${build.commitHash.slice(0, 8)}`;
      if (build.status === 'RUNNING') {
        // A running build: its step and the last line of its log, when they change.
        const tail = await lastLogLine(client, build);
        const line = `  [${ended}/${total}] building ${name}${tail ? ` (${tail})` : ''}`;
        if (seen.get(build.workflowId) !== line) say(line);
        seen.set(build.workflowId, line);
      } else if (hasEnded(build.status) && !seen.has(`${build.workflowId}:end`)) {
        seen.set(`${build.workflowId}:end`, build.status);
        const word = build.status === 'SUCCESS' ? 'built ' : build.status === 'RETRY' ? 'RETRY ' : 'FAILED';
        say(`  [${ended}/${total}] ${word} ${name}${build.elsewhere ? ' (by another run)' : ''}`);
      }
    }
  }
};
