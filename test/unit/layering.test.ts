/**
 * The import directions of design.md are lint errors. Lints code as if it sat in each folder.
 */
import test from 'ava';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { PROJECT_ROOT } from '../../lib/paths.ts';

const eslint = new ESLint({
  cwd: PROJECT_ROOT,
  // Type information is not needed for import rules, and the fixture files do not exist.
  overrideConfig: [tseslint.configs.disableTypeChecked],
});

const ruleIds = async (filePath: string, code: string): Promise<string[]> => {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'fatal'}: ${m.message}`);
};

test('a workflow that imports node:fs is a lint error', async (t) => {
  const messages = await ruleIds(
    'workflows/fixture.ts',
    "import { readFile } from 'node:fs/promises';\nexport const f = readFile;\n",
  );
  t.true(
    messages.some((m) => m.startsWith('import-x/no-nodejs-modules')),
    messages.join('\n'),
  );
});

test('a workflow may import activity types but not activity code', async (t) => {
  t.deepEqual(
    await ruleIds(
      'workflows/fixture.ts',
      "import type { Activities } from '../activities/index.ts';\nexport type A = Activities;\n",
    ),
    [],
  );
  const messages = await ruleIds(
    'workflows/fixture.ts',
    "import { createActivities } from '../activities/index.ts';\nexport const c = createActivities;\n",
  );
  t.true(
    messages.some((m) => m.includes('proxyActivities')),
    messages.join('\n'),
  );
});

test('a workflow may not import the database layer or an I/O package', async (t) => {
  const db = await ruleIds(
    'workflows/fixture.ts',
    "import { openDatabase } from '../lib/db/index.ts';\nexport const o = openDatabase;\n",
  );
  t.true(
    db.some((m) => m.includes('lib/domain only')),
    db.join('\n'),
  );
  const git = await ruleIds(
    'workflows/fixture.ts',
    "import { simpleGit } from 'simple-git';\nexport const g = simpleGit;\n",
  );
  t.true(
    git.some((m) => m.startsWith('@typescript-eslint/no-restricted-imports')),
    git.join('\n'),
  );
});

test('lib/domain stays pure and lib never imports the worker runtime', async (t) => {
  const domain = await ruleIds(
    'lib/domain/fixture.ts',
    "import { pino } from 'pino';\nexport const p = pino;\n",
  );
  t.true(
    domain.some((m) => m.startsWith('@typescript-eslint/no-restricted-imports')),
    domain.join('\n'),
  );
  const lib = await ruleIds(
    'lib/fixture.ts',
    "import { Worker } from '@temporalio/worker';\nexport const w = Worker;\n",
  );
  t.true(
    lib.some((m) => m.startsWith('@typescript-eslint/no-restricted-imports')),
    lib.join('\n'),
  );
});

test('the API starts workflows by name: workflow code only as a type', async (t) => {
  t.deepEqual(
    await ruleIds(
      'api/fixture.ts',
      "import type { checkWorker } from '../workflows/check-worker.ts';\nexport type C = typeof checkWorker;\n",
    ),
    [],
  );
  const messages = await ruleIds(
    'api/fixture.ts',
    "import { checkWorker } from '../workflows/check-worker.ts';\nexport const c = checkWorker;\n",
  );
  t.true(
    messages.some((m) => m.includes('Start workflows by name')),
    messages.join('\n'),
  );
});
