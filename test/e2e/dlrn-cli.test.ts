/**
 * The `dlrn` command as a process, on the demo made by scripts/make-demo.ts. Local mode: the
 * command finds the harness's Temporal server on `local_port` (set with --config-override),
 * runs its own in-process worker, and stops it when done.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { makeDemo } from '../../scripts/make-demo.ts';
import { temporalAddress } from '../helpers/services.ts';

const exec = promisify(execFile);
const dlrn = resolve(PROJECT_ROOT, 'bin', 'dlrn.js');

let dir: string;
let ini: string;
let portOverride: string;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dlrnt-cli-'));
  ini = await makeDemo(join(dir, 'demo'));
  portOverride = `temporal.local_port=${temporalAddress().split(':')[1] ?? ''}`;
});
test.after.always(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const run = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const { stdout, stderr } = await exec(dlrn, args, {
      cwd: dir,
      env: { ...process.env, DLRN_LOG_LEVEL: 'warn' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

test.serial('--help lists the flags of DLRN', async (t) => {
  const { code, stdout } = await run(['--help']);
  t.is(code, 0);
  for (const flag of [
    '--config-file',
    '--config-override',
    '--info-repo',
    '--build-env',
    '--local',
    '--head-only',
    '--project-name',
    '--package-name',
    '--dev',
    '--log-commands',
    '--use-public',
    '--order',
    '--sequential',
    '--status',
    '--recheck',
    '--force-recheck',
    '--version',
    '--run',
    '--stop',
    '--verbose-build',
    '--no-repo',
    '--debug',
  ]) {
    t.true(stdout.includes(flag), flag);
  }
});

test.serial(
  '--dry-run lists the newest commit of every demo package, in dependency order with --order',
  async (t) => {
    const { code, stdout, stderr } = await run([
      '--config-file',
      ini,
      '--config-override',
      portOverride,
      '--dry-run',
      '--order',
    ]);
    t.is(code, 0, stderr);
    const lines = stdout.split('\n').filter((l) => l.startsWith('  demo-'));
    t.is(lines.length, 12);
    const order = lines.map((l) => l.trim().split(/\s+/)[0] ?? '');
    t.true(order.indexOf('demo-common') < order.indexOf('demo-utils'));
    t.true(order.indexOf('demo-utils') < order.indexOf('demo-client'));
    t.true(order.indexOf('demo-server') < order.indexOf('demo-plugins'));
    t.true(order.indexOf('demo-cli') < order.indexOf('demo-meta'));
    t.regex(stdout, /^12 commits to build, in build order:$/m);
    t.regex(stdout, /Run workflow: http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\/run%3A/);
  },
);

test.serial('--status prints the type, name and status of each package', async (t) => {
  const { code, stdout } = await run(['--config-file', ini, '--config-override', portOverride, '--status']);
  t.is(code, 0);
  t.regex(stdout, /^ {6}rpm demo-common NO_BUILD$/m);
  t.is(stdout.split('\n').filter((l) => l.endsWith(' NO_BUILD')).length, 12);
});

test.serial('--recheck needs a package, and names one that has no build', async (t) => {
  const without = await run(['--config-file', ini, '--recheck']);
  t.is(without.code, 1);
  t.regex(without.stderr, /Please use --package-name or --project-name with --recheck\./);
  const none = await run([
    '--config-file',
    ini,
    '--config-override',
    portOverride,
    '--recheck',
    '--package-name',
    'demo-ui',
  ]);
  t.is(none.code, 1);
  t.regex(none.stderr, /There are no existing commits for package demo-ui\./);
});

test.serial('a bad projects.ini or flag changes nothing and says what is wrong', async (t) => {
  const bad = join(dir, 'bad.ini');
  await writeFile(bad, '[DEFAULT]\nmaxretries=three\nbuild_driver=dlrn.drivers.nope.Nope\n');
  const config = await run(['--config-file', bad]);
  t.is(config.code, 1);
  t.regex(config.stderr, /maxretries = "three": expected a whole number >= 0/);
  t.regex(config.stderr, /build_driver = "dlrn.drivers.nope.Nope": unknown driver/);
  const usage = await run(['--package-name', 'a', '--project-name', 'b']);
  t.is(usage.code, 2);
  const unknown = await run(['--no-such-flag']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /unknown option '--no-such-flag'/);
});
