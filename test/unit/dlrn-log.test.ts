/** DLRN's log lines from a run's builds (cli/dlrn-log.ts), pinned to DLRN 0.26.1's words. */
import test from 'ava';
import { asctime, dlrnBuildLog, dlrnLogLine, type DlrnLevel } from '../../cli/dlrn-log.ts';
import type { RunBuild } from '../../workflows/run.ts';

const at = new Date('2026-12-01T21:00:34.592Z');

test("asctime is Python logging's: local time, milliseconds after a comma", (t) => {
  const tz = process.env.TZ;
  try {
    process.env.TZ = 'UTC';
    t.is(asctime(at), '2026-12-01 21:00:34,592');
    t.is(
      dlrnLogLine('INFO', 'dlrn-build', 'Processing a b', at),
      '2026-12-01 21:00:34,592 INFO:dlrn-build:Processing a b',
    );
    process.env.TZ = 'Asia/Kolkata';
    t.is(asctime(at), '2026-12-02 02:30:34,592');
    t.is(asctime(new Date('2026-01-02T03:04:05.006Z')), '2026-01-02 08:34:05,006');
  } finally {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  }
});

const build = (over: Partial<RunBuild>): RunBuild => ({
  projectName: 'demo-agent',
  commitHash: 'a'.repeat(40),
  distroHash: 'b'.repeat(40),
  workflowId: `build:${over.projectName ?? 'demo-agent'}`,
  status: 'RUNNING',
  ...over,
});

const follow = () => {
  const lines: string[] = [];
  const observe = dlrnBuildLog('/nonexistent/data', {}, (level: DlrnLevel, logger: string, message: string) =>
    lines.push(`${level}:${logger}:${message}`),
  );
  return { lines, observe };
};

test('each build is told once: Processing when seen, then its failure in DLRN order', (t) => {
  const { lines, observe } = follow();
  const running = build({});
  observe([running, build({ projectName: 'demo-ui', status: 'QUEUED' })]);
  observe([running]);
  const failed = build({
    status: 'FAILED',
    outputDir: 'repos/aa/aa/x_bbbbbbbb',
    notes: 'Error in build_rpm_wrapper for demo-agent: rpmbuild --rebuild failed with exit code 1',
  });
  observe([failed]);
  observe([failed]);
  t.deepEqual(lines, [
    `INFO:dlrn-build:Processing demo-agent ${'a'.repeat(40)}`,
    'ERROR:dlrn-build:Build failed. See logs at: /nonexistent/data/repos/aa/aa/x_bbbbbbbb/',
    'ERROR:dlrn:Received exception Error in build_rpm_wrapper for demo-agent: rpmbuild --rebuild failed with exit code 1',
  ]);
});

test('a build first seen ended, a retry, a build with no RPM, and a success while packages fail', (t) => {
  const { lines, observe } = follow();
  observe([
    build({
      projectName: 'one',
      status: 'RETRY',
      outputDir: 'repos/o',
      notes: 'Error in build_rpm_wrapper for one: x',
    }),
    build({ projectName: 'two', status: 'FAILED', outputDir: 'repos/t', notes: 'No rpms built for two' }),
    build({
      projectName: 'three',
      status: 'SUCCESS',
      published: { startedAt: 1, endedAt: 2, failures: 2, consistent: false },
    }),
    build({
      projectName: 'four',
      status: 'SUCCESS',
      published: { startedAt: 1, endedAt: 2, failures: 0, consistent: true },
    }),
    build({ projectName: 'five', status: 'SUCCESS', elsewhere: 'built' }),
  ]);
  const a = 'a'.repeat(40);
  t.deepEqual(lines, [
    `INFO:dlrn-build:Processing one ${a}`,
    'ERROR:dlrn-build:Build failed. See logs at: /nonexistent/data/repos/o/',
    'ERROR:dlrn:Received exception Error in build_rpm_wrapper for one: x',
    'ERROR:dlrn:Known error building packages for one, will retry later',
    `INFO:dlrn-build:Processing two ${a}`,
    'ERROR:dlrn:Received exception No rpms built for two',
    `INFO:dlrn-build:Processing three ${a}`,
    'INFO:dlrn:2 packages not built correctly: not updating the consistent symlink',
    `INFO:dlrn-build:Processing four ${a}`,
  ]);
});

test('with use_components DLRN names the component, None when a package has none', (t) => {
  const lines: string[] = [];
  const observe = dlrnBuildLog('/data', { useComponents: true }, (_level, logger, message) =>
    lines.push(`${logger}:${message}`),
  );
  const a = 'a'.repeat(40);
  observe([
    build({
      projectName: 'nova',
      component: 'compute',
      status: 'SUCCESS',
      published: { startedAt: 1, endedAt: 2, failures: 1, consistent: false },
    }),
    build({ projectName: 'lonely', status: 'RUNNING' }),
  ]);
  t.deepEqual(lines, [
    `dlrn-build:Processing nova ${a} for component compute`,
    'dlrn:1 packages not built correctly for component compute: not updating the consistent symlink',
    `dlrn-build:Processing lonely ${a} for component None`,
  ]);
});
