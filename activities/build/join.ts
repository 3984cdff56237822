/**
 * awaitBuild: a run whose build of a commit is already going under another run (a schedule
 * firing during a manual run, `--package-name`, `/api/trigger`) waits for that build instead of
 * starting a second one, and reports its real result. It heartbeats while it waits, so a dead
 * worker's wait moves to another worker.
 */
import { Context } from '@temporalio/activity';
import { CancelledFailure, TerminatedFailure, WorkflowFailedError } from '@temporalio/client';
import type { BuildStatusName } from '../../lib/domain/packages.ts';
import { rootCause } from '../../lib/domain/temporal-names.ts';

/** The part of a build's result a run reports. */
export interface JoinedBuild {
  status: BuildStatusName;
  notes: string;
  /** The build joined was cancelled or terminated before it ended: no result, build it again. */
  cancelled?: boolean;
  outputDir?: string;
  published?: Published;
}

/** When a build's post-build held the lock, and whether it moved `consistent`. */
interface Published {
  startedAt: number;
  endedAt: number;
  failures: number;
  consistent: boolean;
}

interface BuildOutcome {
  status: BuildStatusName;
  notes: string;
  outputDir: string;
  published?: Published;
}

export const awaitBuild = async (workflowId: string): Promise<JoinedBuild> => {
  const context = Context.current();
  try {
    // Ends with the activity when the run is cancelled.
    const outcome = await Promise.race([
      context.client.workflow.getHandle(workflowId).result() as Promise<BuildOutcome>,
      context.cancelled,
    ]);
    return {
      status: outcome.status,
      notes: outcome.notes,
      outputDir: outcome.outputDir,
      ...(outcome.published
        ? {
            published: {
              startedAt: outcome.published.startedAt,
              endedAt: outcome.published.endedAt,
              failures: outcome.published.failures,
              consistent: outcome.published.consistent,
            },
          }
        : {}),
    };
  } catch (err) {
    // The other run's build itself failed: that is this run's result too. One that was cancelled
    // or terminated (its run was stopped) ended without a result: the run builds it again.
    if (err instanceof WorkflowFailedError) {
      const stopped = err.cause instanceof CancelledFailure || err.cause instanceof TerminatedFailure;
      return { status: 'FAILED', notes: rootCause(err).message, ...(stopped ? { cancelled: true } : {}) };
    }
    throw err;
  }
};
