/**
 * The prebuilt workflow bundle: used while its digest matches the sources, rebuilt (and kept)
 * when it does not, so a worker never loads workflow code older than the checkout.
 */
import test from 'ava';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { sourceDigest, workflowBundle } from '../../cli/workflow-bundle.ts';

const DIGEST = join(PROJECT_ROOT, '.build', 'workflow-bundle.digest');
const CODE = join(PROJECT_ROOT, '.build', 'workflow-bundle.js');

test('a stale bundle is rebuilt from the sources; a current one is read as it is', async (t) => {
  await workflowBundle();
  await writeFile(DIGEST, 'made from other sources');
  const rebuilt = await workflowBundle();
  t.is(
    await readFile(DIGEST, 'utf8'),
    await sourceDigest(),
    'the new bundle carries the digest of the sources',
  );
  t.true(rebuilt.code.includes('buildCommit') && rebuilt.code.includes('promoteBatch'));
  const written = (await stat(CODE)).mtimeMs;
  const again = await workflowBundle();
  t.is(again.code, rebuilt.code);
  t.is((await stat(CODE)).mtimeMs, written, 'not bundled again');
});
