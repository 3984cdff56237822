/**
 * Workflow code may change shape but not what it asks Temporal for, or builds that are running
 * when a worker is upgraded fail with a nondeterminism error. Histories recorded from real builds
 * (test/fixtures/histories, written by recordHistory in test/integration/build-commit.test.ts:
 * a success, a failed spec, a retried success, a RETRY, a build joined to a finished one, a
 * failure with a webhook child) are replayed against the workflow bundle the workers load now.
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

// Listed synchronously: ava wants every test declared before the file's first await.
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();

test('every buildCommit outcome has a recorded history', (t) => {
  t.deepEqual(
    names.map((n) => n.replace(/\.json$/, '')),
    [
      'build-commit-already-built',
      'build-commit-failed',
      'build-commit-retried',
      'build-commit-retry',
      'build-commit-success',
      'build-commit-webhook',
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
    // Not an empty or truncated file: the build reached its ending.
    t.truthy(events.at(-1)?.workflowExecutionCompletedEventAttributes, name);
    if (name !== 'build-commit-already-built.json') t.true(scheduled.includes('prepareSources'), name);
    await t.notThrowsAsync(
      Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, recorded.workflowId),
    );
  });
}
