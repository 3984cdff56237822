/**
 * Workflow code may change shape but not what it asks Temporal for, or builds that are running
 * when a worker is upgraded fail with a nondeterminism error. Histories recorded from real builds
 * (test/fixtures/histories, written by recordHistory) are replayed against the workflow bundle
 * the workers load now: from build-commit.test.ts, buildCommit's success, failed spec, retried
 * success, RETRY, build joined to a finished one and failure with a webhook child; from
 * post-build.test.ts, runs of six builds at once on two workers, of a failed build, and the first
 * run of a chain that continued as new; from promote-batch.test.ts, a batch rolled back (as
 * promoteItem steps, and as the separate steps batches ran before it, which `patched` keeps).
 */
import proto from '@temporalio/proto';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import test from 'ava';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { workflowBundle } from '../helpers/temporal.ts';

const dir = join(import.meta.dirname, '..', 'fixtures', 'histories');
const { History } = proto.temporal.api.history.v1;

test.before(() => {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // Installed already by a helper in this process.
  }
});

/** The task queue a recorded workflow ran on (its first event says). */
const startedOn = (history: proto.temporal.api.history.v1.IHistory): string =>
  history.events?.[0]?.workflowExecutionStartedEventAttributes?.taskQueue?.name ?? 'dlrn';

// Listed synchronously: ava wants every test declared before the file's first await.
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();

test('buildCommit outcomes, runs and a rolled-back promote batch have recorded histories', (t) => {
  t.deepEqual(
    names.map((n) => n.replace(/\.json$/, '')),
    [
      'build-commit-already-built',
      'build-commit-failed',
      'build-commit-retried',
      'build-commit-retry',
      'build-commit-success',
      'build-commit-webhook',
      'promote-batch-item-rolled-back',
      'promote-batch-rolled-back',
      'run-continued-as-new',
      'run-failed-build',
      'run-six-at-once',
    ],
  );
});

for (const name of names) {
  test(`${name} replays against today's workflow code`, async (t) => {
    const recorded = JSON.parse(await readFile(join(dir, name), 'utf8')) as {
      workflowId: string;
      history: string;
    };
    const history = History.decode(Buffer.from(recorded.history, 'base64'));
    const events = history.events ?? [];
    const scheduled = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    // Not an empty or truncated file: the workflow reached its ending.
    const last = events.at(-1);
    t.truthy(
      last?.workflowExecutionCompletedEventAttributes ??
        last?.workflowExecutionContinuedAsNewEventAttributes ??
        last?.workflowExecutionFailedEventAttributes,
      name,
    );
    const first = name.startsWith('promote-batch-item')
      ? 'promoteItem'
      : { run: 'planRun', promote: 'switchPromotion', build: 'prepareSources' }[name.split('-')[0] ?? ''];
    if (first && name !== 'build-commit-already-built.json') t.true(scheduled.includes(first), name);
    await t.notThrowsAsync(
      Worker.runReplayHistory(
        {
          workflowBundle: await workflowBundle(),
          // A run names its builds' workflows after its task queue (`@<queue>` off the default):
          // replayed on the queue it ran on. The type leaves taskQueue out, but the SDK takes it.
          ...({ taskQueue: startedOn(history) } as object),
        },
        history,
        recorded.workflowId,
      ),
    );
  });
}
