/**
 * `dlrn-user` as a process against the SQLite database of a projects.ini, with passlib (what
 * DLRN uses) checking the stored hashes, so DLRN's users table works both ways.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { openDatabase, type Database } from '../../lib/db/index.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { runCli } from '../helpers/cli.ts';

const run = promisify(execFile);
const python = resolve(PROJECT_ROOT, '.tools', 'venv', 'bin', 'python');

let dir: string;
let db: Database;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dlrnt-user-'));
  await writeFile(
    join(dir, 'projects.ini'),
    `[DEFAULT]\ndatadir=./data\nscriptsdir=./scripts\nbaseurl=http://localhost/\ndistro=rpm-master\nsource=master\n` +
      `pkginfo_driver=dlrn.drivers.local.LocalDriver\nbuild_driver=dlrn.drivers.mockdriver.MockBuildDriver\n` +
      `database_connection=sqlite:///${join(dir, 'commits.sqlite')}\n`,
  );
  db = await openDatabase(`sqlite:///${join(dir, 'commits.sqlite')}`);
});
test.after.always(async () => {
  await db?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const user = (args: string[], input?: string) =>
  runCli('dlrn-user', ['--config-file', 'projects.ini', ...args], { cwd: dir, ...(input ? { input } : {}) });

const storedHash = async (username: string) =>
  (await db.models.User.findByPk(username))?.getDataValue('password');

const passlibVerifies = async (password: string, hash: string): Promise<boolean> => {
  const script =
    'import sys\nfrom passlib.hash import sha512_crypt\nprint(sha512_crypt.verify(sys.argv[1], sys.argv[2]))';
  const { stdout } = await run(python, ['-c', script, password, hash]);
  return stdout.trim() === 'True';
};

test.serial(
  'create stores a SHA-512 crypt hash that passlib verifies; a second create fails with 255',
  async (t) => {
    const created = await user(['create', '--username', 'alice', '--password', 'wonder land']);
    t.is(created.code, 0, created.stderr);
    // DLRN's log line, in its format and with its logger name.
    t.regex(
      created.stderr,
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO:dlrn\.user:User alice successfully created$/m,
    );
    const hash = await storedHash('alice');
    t.regex(hash ?? '', /^\$6\$rounds=656000\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/);
    t.true(await passlibVerifies('wonder land', hash ?? ''));
    t.false(await passlibVerifies('wonderland', hash ?? ''));

    const again = await user(['create', '--username', 'alice', '--password', 'other']);
    t.is(again.code, 255);
    t.regex(again.stderr, / ERROR:dlrn\.user:User alice already exists$/m);
    t.is(await storedHash('alice'), hash);
  },
);

test.serial('create without --password reads it from the prompt', async (t) => {
  const created = await user(['create', '--username', 'bob'], 's3cret\n');
  t.is(created.code, 0, created.stderr);
  t.regex(created.stderr, /Enter password for bob/);
  t.true(await passlibVerifies('s3cret', (await storedHash('bob')) ?? ''));
});

test.serial('update changes the password; an unknown user is an error', async (t) => {
  const updated = await user(['update', '--username', 'alice', '--password', 'new one']);
  t.is(updated.code, 0, updated.stderr);
  t.regex(updated.stderr, / INFO:dlrn\.user:User alice updated$/m);
  t.true(await passlibVerifies('new one', (await storedHash('alice')) ?? ''));

  const unknown = await user(['update', '--username', 'nobody', '--password', 'x']);
  t.is(unknown.code, 255);
  t.regex(unknown.stderr, / ERROR:dlrn\.user:ERROR: User nobody does not exist$/m);
  t.is(await storedHash('nobody'), undefined);
});

test.serial('delete asks for YES unless --force', async (t) => {
  const refused = await user(['delete', '--username', 'bob'], 'yes\n');
  t.is(refused.code, 255);
  t.regex(
    refused.stdout,
    /^Are you sure you want to delete user bob\? If so, type YES to continue\.\nAction not confirmed, exiting\n$/,
  );
  t.truthy(await storedHash('bob'));

  const noInput = await user(['delete', '--username', 'bob']);
  t.is(noInput.code, 255);
  t.regex(noInput.stderr, /standard input is closed/);
  t.truthy(await storedHash('bob'));

  const confirmed = await user(['delete', '--username', 'bob'], 'YES\n');
  t.is(confirmed.code, 0, confirmed.stderr);
  t.regex(confirmed.stderr, / INFO:dlrn\.user:User bob deleted$/m);
  t.is(await storedHash('bob'), undefined);

  const forced = await user(['delete', '--username', 'alice', '--force']);
  t.is(forced.code, 0, forced.stderr);
  t.is(await storedHash('alice'), undefined);
});

test.serial('a user made by passlib (as DLRN makes them) is seen and updated by dlrn-user', async (t) => {
  const { stdout } = await run(python, [
    '-c',
    'from passlib.hash import sha512_crypt\nprint(sha512_crypt.hash("dlrn"))',
  ]);
  await db.models.User.create({ username: 'fromdlrn', password: stdout.trim() });
  const again = await user(['create', '--username', 'fromdlrn', '--password', 'x']);
  t.is(again.code, 255);
  const updated = await user(['update', '--username', 'fromdlrn', '--password', 'changed']);
  t.is(updated.code, 0);
  t.true(await passlibVerifies('changed', (await storedHash('fromdlrn')) ?? ''));
});

test('a missing subcommand is a usage error', async (t) => {
  const { code } = await user([]);
  t.is(code, 2);
});
