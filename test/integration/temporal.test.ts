/**
 * A workflow with an activity on the real Temporal dev server started by the test harness:
 * checkWorker runs inspectWorker on this test's own task queue.
 */
import test from 'ava';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActivities, type ActivityTiming } from '../../activities/index.ts';
import { workflowsPath } from '../../cli/worker.ts';
import { parseConfig } from '../../lib/config/index.ts';
import { openDatabase, type Database } from '../../lib/db/index.ts';
import { SearchAttribute } from '../../lib/domain/temporal-names.ts';
import { createLogger } from '../../lib/logger.ts';
import type { checkWorker } from '../../workflows/check-worker.ts';
import { freshDatabase, temporalAddress, uniqueTaskQueue, type TestDatabase } from '../helpers/services.ts';
import { workflowBundle } from '../helpers/temporal.ts';

Runtime.install({ logger: new DefaultLogger('WARN') });

let client: Client;
let nativeConnection: NativeConnection;
let target: TestDatabase;
let db: Database;

test.before(async () => {
  const address = temporalAddress();
  client = new Client({ connection: await Connection.connect({ address }) });
  nativeConnection = await NativeConnection.connect({ address });
  target = await freshDatabase('sqlite');
  db = await openDatabase(target.url);
});

test.after.always(async () => {
  await nativeConnection?.close();
  await client?.connection.close();
  await db?.close();
  await target?.drop();
});

test('checkWorker runs inspectWorker on the worker and reports its tools and database', async (t) => {
  const taskQueue = uniqueTaskQueue(t.title);
  const config = parseConfig(`[DEFAULT]\ndatabase_connection=${target.url}\n`);
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowsPath,
    activities: createActivities({ config, db, logger: createLogger({ name: 'test' }) }),
  });
  await db.models.Commit.create({ projectName: 'python-foo', status: 'SUCCESS' });
  const workflowId = `check-worker:${taskQueue}:${randomUUID()}`;
  const handle = await client.workflow.start<typeof checkWorker>('checkWorker', {
    taskQueue,
    workflowId,
    args: [{ requiredTools: ['rpmbuild', 'createrepo_c', 'no-such-tool'] }],
  });
  const result = await worker.runUntil(handle.result());

  t.deepEqual(result.missingTools, ['no-such-tool']);
  t.regex(result.inspection.tools.rpmbuild ?? '', /^RPM version \d/);
  t.regex(result.inspection.tools.createrepo_c ?? '', /^Version: \d/);
  t.deepEqual(result.inspection.database, { dialect: 'sqlite', alembicVersion: '6a3d982b967b', commits: 1 });
  t.is(result.inspection.pid, process.pid, 'the activity ran in this worker');

  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  const scheduled = events.flatMap((e) =>
    e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes] : [],
  );
  t.deepEqual(
    scheduled.map((a) => a.activityType?.name),
    ['inspectWorker'],
  );
  t.is(scheduled[0]?.taskQueue?.name, taskQueue);
  t.is(events.filter((e) => e.activityTaskCompletedEventAttributes).length, 1);
  t.truthy(events.at(-1)?.workflowExecutionCompletedEventAttributes, 'the workflow completed');
});

test('the dev server knows the build search attributes', async (t) => {
  const { customAttributes } = await client.connection.operatorService.listSearchAttributes({
    namespace: 'default',
  });
  for (const name of Object.values(SearchAttribute)) t.truthy(customAttributes?.[name], name);
});

test('with a timings file, every activity execution is logged with the programs it ran', async (t) => {
  const taskQueue = uniqueTaskQueue(t.title);
  const dir = await mkdtemp(join(tmpdir(), 'dlrnt-timings-'));
  const timingsFile = join(dir, 'timings.jsonl');
  const config = parseConfig(`[DEFAULT]\ndatabase_connection=${target.url}\n`);
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities({ config, db, logger: createLogger({ name: 'test' }), timingsFile }),
  });
  const workflowId = `check-worker:${taskQueue}:${randomUUID()}`;
  await worker.runUntil(
    client.workflow.execute<typeof checkWorker>('checkWorker', {
      taskQueue,
      workflowId,
      args: [{ requiredTools: ['rpmbuild'] }],
    }),
  );
  const lines = (await readFile(timingsFile, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as ActivityTiming);
  t.is(lines.length, 1);
  const [line] = lines;
  t.like(line, { workflowId, workflowType: 'checkWorker', activity: 'inspectWorker', attempt: 1 });
  // inspectWorker asks each tool its version: rpmbuild ran once, inside the activity's span.
  const runs = line?.tools.rpmbuild ?? [];
  t.is(runs.length, 1);
  const [[start, end] = [0, 0]] = runs;
  t.true(line !== undefined && line.start <= start && start <= end && end <= line.end);
  await rm(dir, { recursive: true, force: true });
});
