/**
 * Ctrl-C (SIGINT) and SIGTERM on `dlrn` while it follows a run. The first stops waiting at once:
 * it says what is still going and how to resume or stop it, and `dlrn` exits within two seconds
 * with the code of a process the signal ended (130, 143), as DLRN's Python does, and no stack
 * trace. In local mode the run's worker is this process, so its build tools are stopped on the way
 * out and the next `dlrn` resumes the run (cli/local-runs.ts). A second press within those two
 * seconds cancels the run and its builds instead (each build removes its workspace), and `dlrn`
 * waits a little for that to be done. A third leaves at once.
 */
import type { Client } from '@temporalio/client';
import type { RunBuild } from '../workflows/run.ts';
import { say } from './output.ts';
import type { TemporalEndpoint } from './worker.ts';

/** How long the first press leaves for a second one before `dlrn` exits. */
export const SECOND_PRESS_MS = 1_200;

let interrupted = false;

/** Whether Ctrl-C was pressed: followers stop printing. */
export const isInterrupted = (): boolean => interrupted;

/** How long a local `dlrn` keeps its worker for the cancelled builds to clean up. */
const CANCEL_WAIT_MS = 20_000;

const EXIT_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export interface FollowedRun {
  client: Client;
  endpoint: TemporalEndpoint;
  workflowId: string;
  url: string | undefined;
  /** The run's builds now (asked of the run, or as last seen); empty while it discovers. */
  builds(): Promise<RunBuild[]>;
  /** Local mode: stops this process's build tools; how many were running. */
  stopLocalTools(): number;
}

const namesOf = (builds: RunBuild[]): string =>
  builds
    .slice(0, 5)
    .map((b) => b.projectName)
    .join(', ') + (builds.length > 5 ? `, and ${builds.length - 5} more` : '');

/** What the run is doing, in one line. */
const describe = (run: FollowedRun, builds: RunBuild[]): string => {
  if (builds.length === 0) return `run ${run.workflowId} is still discovering new commits`;
  const running = builds.filter((b) => b.status === 'RUNNING');
  const queued = builds.filter((b) => b.status === 'QUEUED');
  const parts = [
    running.length ? `${running.length} building (${namesOf(running)})` : '',
    queued.length ? `${queued.length} queued` : '',
  ].filter(Boolean);
  return `run ${run.workflowId} is still going: ${parts.join(', ') || 'its last builds are ending'}`;
};

const cancelRun = async (run: FollowedRun): Promise<void> => {
  const handle = run.client.workflow.getHandle(run.workflowId);
  const running = (await run.builds()).filter((b) => b.status === 'RUNNING');
  say(`Cancelling ${run.workflowId} and its builds...`);
  try {
    await handle.cancel();
  } catch (err) {
    say(`Could not cancel it: ${(err as Error).message}`);
    return;
  }
  if (!run.endpoint.local) {
    say(`Cancel requested; the cluster's workers stop its builds and remove their workspaces.`);
    return;
  }
  // Local mode: this process is the worker that stops the builds and cleans up after them: the
  // run's cancellation reaches each build, which then removes its workspace.
  const ended = (id: string) =>
    run.client.workflow
      .getHandle(id)
      .result()
      .then(
        () => true,
        () => true,
      );
  const closed = Promise.all([ended(run.workflowId), ...running.map((b) => ended(b.workflowId))]).then(
    () => true,
  );
  const inTime = await Promise.race([
    closed,
    new Promise<false>((r) => setTimeout(() => r(false), CANCEL_WAIT_MS)),
  ]);
  say(
    inTime
      ? `Run ${run.workflowId} cancelled.`
      : `Cancel requested; the next dlrn finishes stopping the builds and removes their workspaces.`,
  );
};

const tellInterrupted = (current: FollowedRun, builds: RunBuild[]): void => {
  say(`Interrupted: ${describe(current, builds)}.`);
  if (current.endpoint.local)
    say(
      `Its worker stops with this dlrn: run dlrn again to resume it where it stopped. ` +
        `Press Ctrl-C again now to cancel the run and its builds instead.`,
    );
  else
    say(
      `It goes on in the cluster${current.url ? ` (${current.url})` : ''}. Press Ctrl-C again now to cancel ` +
        `it and its builds, or later: temporal workflow cancel --workflow-id ${current.workflowId} ` +
        `--address ${current.endpoint.address} --namespace ${current.endpoint.namespace}`,
    );
};

export interface Interrupts {
  /** Gives SIGINT and SIGTERM back. */
  giveBack(): void;
  /**
   * Stops following at once for a reason of our own (a full disk): says `lines`, stops the local
   * build tools, and leaves with `code`. The run stays where it is, for the next dlrn to resume.
   */
  halt(lines: string[], code: number): void;
}

/**
 * Takes over SIGINT and SIGTERM while `run()` names the run being followed (undefined before it
 * started: the first press then leaves at once). `leave(code)` ends the process.
 */
export const onInterrupt = (
  run: () => FollowedRun | undefined,
  leave: (code: number) => Promise<never>,
): Interrupts => {
  let presses = 0;
  let firstTimer: NodeJS.Timeout | undefined;
  const stopTools = (current: FollowedRun | undefined) => {
    if (!current?.endpoint.local) return;
    const stopped = current.stopLocalTools();
    if (stopped > 0)
      say(
        `Stopped ${stopped} build tool${stopped === 1 ? '' : 's'}; their steps run again when the run resumes.`,
      );
  };
  const handler = (signal: NodeJS.Signals): void => {
    presses++;
    interrupted = true;
    const code = EXIT_CODES[signal] ?? 130;
    const current = run();
    if (!current || presses >= 3) {
      if (presses === 1) say('Interrupted before the run started; nothing to resume.');
      void leave(code);
      return;
    }
    if (presses === 2) {
      clearTimeout(firstTimer);
      void cancelRun(current).finally(() => leave(code));
      return;
    }
    void current.builds().then((builds) => tellInterrupted(current, builds));
    firstTimer = setTimeout(() => {
      stopTools(current);
      void leave(code);
    }, SECOND_PRESS_MS);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    giveBack: () => {
      clearTimeout(firstTimer);
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
    halt: (lines, code) => {
      if (interrupted) return;
      interrupted = true;
      for (const line of lines) say(line);
      stopTools(run());
      void leave(code);
    },
  };
};
