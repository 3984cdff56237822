/**
 * The import directions of design.md are lint errors. Lints code as if it sat in each folder.
 */
import test from 'ava';
import { ESLint } from 'eslint';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
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

/** Every relative import and re-export of the product's TypeScript, type-only ones included. */
const importGraph = async (): Promise<Map<string, string[]>> => {
  const graph = new Map<string, string[]>();
  for (const dir of ['activities', 'api', 'cli', 'lib', 'workflows']) {
    const files = (await readdir(join(PROJECT_ROOT, dir), { recursive: true })).filter((f) =>
      f.endsWith('.ts'),
    );
    for (const file of files) {
      const path = join(dir, file);
      const text = await readFile(join(PROJECT_ROOT, path), 'utf8');
      const targets = [...text.matchAll(/^(?:import|export)\b[^'"]*?\bfrom\s+'(\.[^']+)'/gms)].map((m) =>
        relative(PROJECT_ROOT, resolve(PROJECT_ROOT, dirname(path), m[1] ?? '')),
      );
      graph.set(path, targets);
    }
  }
  return graph;
};

/** Strongly connected components of more than one module (Tarjan's algorithm). */
const cyclesOf = (graph: Map<string, string[]>): string[][] => {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node) ?? 0, index.get(next) ?? 0));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop();
        if (member === undefined) break;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
};

test('no import cycle, counting type-only imports (which import-x/no-cycle skips)', async (t) => {
  const graph = await importGraph();
  t.true(graph.size > 100);
  t.deepEqual(
    cyclesOf(
      new Map([
        ['a.ts', ['b.ts']],
        ['b.ts', ['a.ts']],
        ['c.ts', ['a.ts']],
      ]),
    ),
    [['a.ts', 'b.ts']],
    'the check finds a cycle',
  );
  t.deepEqual(cyclesOf(graph), []);
});
