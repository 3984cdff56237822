/**
 * `dlrn promotions` as a process: check lists the targets of a good criteria file and names the
 * key of a bad one; status says why each target is or is not promoted; waive records a waiver
 * that status then counts.
 */
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import test from 'ava';
import { listWaivers } from '../../lib/db/waivers.ts';
import { startApi } from '../helpers/api.ts';
import { runCli } from '../helpers/cli.ts';
import { buildCandidate, candidateHash, criteriaIni } from '../helpers/promotion.ts';

const hash = candidateHash;

test('dlrn promotions check, status and waive', async (t) => {
  const api = await startApi('sqlite', t, { now: () => Date.now(), ini: await criteriaIni() });
  const root = dirname(api.datadir);
  const flags = ['--config-file', join(root, 'projects.ini')];
  const promotions = (verb: string, ...args: string[]) =>
    runCli('dlrn', ['promotions', verb, ...flags, ...args], { cwd: root });
  const waive = (job: string, ...args: string[]) =>
    promotions(
      'waive',
      '--target',
      'tripleo-ci-testing',
      '--job',
      job,
      '--reason',
      'LP#3',
      '--expires-in',
      '3600',
      ...args,
    );
  await buildCandidate(api, 1, Math.trunc(Date.now() / 1000) - 99, [['periodic-promote-to-testing', false]]);
  const checked = await promotions('check');
  t.is(checked.code, 0, checked.stderr);
  t.regex(checked.stdout, /criteria\.yaml: 3 target\(s\), all checked/);
  t.regex(
    checked.stdout,
    /current-tripleo: from tripleo-ci-testing, jobs periodic-fs001, periodic-fs035, the newest 100 candidates/,
  );
  const before = await promotions('status', 'tripleo-ci-testing');
  t.is(before.code, 0, before.stderr);
  t.deepEqual(before.stdout.trim().split('\n'), [
    'tripleo-ci-testing: current none, next none',
    `  ${hash('c', 1)}/${hash('d', 1)}: failed: periodic-promote-to-testing`,
  ]);
  const waived = await waive('periodic-promote-to-testing', '--user', 'releng');
  t.is(waived.code, 0, waived.stderr);
  t.regex(
    waived.stdout,
    /^Waiver \d+: periodic-promote-to-testing counts as passed for tripleo-ci-testing until /,
  );
  t.like((await listWaivers(api.db, { now: Math.trunc(Date.now() / 1000) }))[0], {
    user: 'releng',
    reason: 'LP#3',
  });
  const after = await promotions('status', 'tripleo-ci-testing');
  t.true(
    after.stdout.startsWith(`tripleo-ci-testing: current none, next ${hash('c', 1)}/${hash('d', 1)}\n`),
    after.stdout,
  );
  t.regex(
    (await waive('nope')).stderr,
    /nope is not one of tripleo-ci-testing's jobs \(periodic-promote-to-testing\)/,
  );
  // A bad file: the key named, no stack trace, exit 1.
  const file = /criteria_file=(.*)/.exec(await criteriaIni())?.[1] ?? '';
  await writeFile(file, 'targets:\n  x:\n    jobs: [a]\n    candidates: many\n');
  const bad = await promotions('check', '--config-override', `promotions.criteria_file=${file}`);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /targets\.x\.candidates: Invalid input: expected number, received string/);
  t.notRegex(bad.stderr, /^\s+at .+[(:]\d+/m);
});

test('dlrn promotions status and waive over the API (--url), for a person without the database', async (t) => {
  const api = await startApi('sqlite', t, { now: () => Date.now(), ini: await criteriaIni() });
  await buildCandidate(api, 1, Math.trunc(Date.now() / 1000) - 99, [['periodic-promote-to-testing', false]]);
  // No config is read: the API is all it asks.
  const promotions = (verb: string, args: string[], env: Record<string, string> = {}) =>
    runCli('dlrn', ['promotions', verb, '--url', api.url, ...args], { cwd: dirname(api.datadir), env });
  const all = await promotions('status', []);
  t.is(all.code, 0, all.stderr);
  t.deepEqual(all.stdout.trim().split('\n'), [
    'tripleo-ci-testing: current none, next none',
    `  ${hash('c', 1)}/${hash('d', 1)}: failed: periodic-promote-to-testing`,
    'current-tripleo: current none, next none',
    '  no candidate yet',
    'rehearsal (dry run): current none, next none',
    `  ${hash('c', 1)}/${hash('d', 1)}: failed: periodic-promote-to-testing`,
  ]);
  const waiveArgs = [
    '--target',
    'tripleo-ci-testing',
    '--job',
    'periodic-promote-to-testing',
    '--reason',
    'LP#4',
    '--expires-in',
    '3600',
    '--commit-hash',
    hash('c', 1),
    '--distro-hash',
    hash('d', 1),
  ];
  const anonymous = await promotions('waive', waiveArgs);
  t.is(anonymous.code, 2);
  t.regex(anonymous.stderr, /--url needs credentials: --username and --password, or DLRNAPI_USERNAME/);
  const wrong = await promotions('waive', [...waiveArgs, '--username', 'ci', '--password', 'nope']);
  t.is(wrong.code, 2);
  t.regex(wrong.stderr, /the API at http:\/\/127\.0\.0\.1:\d+ answered 401/);
  // dlrnapi's environment variables, as a CI job has them.
  const waived = await promotions('waive', waiveArgs, { DLRNAPI_USERNAME: 'ci', DLRNAPI_PASSWORD: 's3cret' });
  t.is(waived.code, 0, waived.stderr);
  t.regex(
    waived.stdout,
    new RegExp(
      `^Waiver \\d+: periodic-promote-to-testing counts as passed for tripleo-ci-testing \\(${hash('c', 1)}/${hash('d', 1)} only\\) until `,
    ),
  );
  // The waiver names the API's user, not the login name.
  t.like((await listWaivers(api.db, { now: Math.trunc(Date.now() / 1000) }))[0], {
    user: 'ci',
    reason: 'LP#4',
  });
  const after = await promotions('status', ['tripleo-ci-testing']);
  t.true(
    after.stdout.startsWith(`tripleo-ci-testing: current none, next ${hash('c', 1)}/${hash('d', 1)}\n`),
    after.stdout,
  );
  const unknown = await promotions('status', ['nope']);
  t.is(unknown.code, 2);
  t.regex(
    unknown.stderr,
    /answered 400: nope has no promotion criteria in .*criteria\.yaml \(targets: tripleo-ci-testing, current-tripleo, rehearsal\)/,
  );
});
