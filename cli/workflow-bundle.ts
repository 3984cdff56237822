/**
 * The workflow code a worker loads, bundled once rather than at every worker start. Bundling
 * (webpack, inside the SDK) takes about 3 s of CPU and 250 MB of memory, and a worker paid it
 * each time it started. `npm run build` (run by scripts/bootstrap.sh) writes the bundle to
 * `.build/` with a digest of the sources it was made from; a worker uses it when the digest
 * still matches, and otherwise bundles on the spot and writes the new bundle for the next start.
 * A stale bundle is never used: the digest covers workflows/, lib/ and the SDK's version.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as LaunchModule from '../bin/launch.js';
import { PROJECT_ROOT as ROOT } from '../lib/paths.ts';

export const workflowsPath = join(ROOT, 'workflows', 'index.ts');
const BUILD_DIR = join(ROOT, '.build');
const CODE = join(BUILD_DIR, 'workflow-bundle.js');
const DIGEST = join(BUILD_DIR, 'workflow-bundle.digest');

/** The digest of everything the bundle is made from (bin/launch.js digests the same way). */
export const sourceDigest = async (): Promise<string> => {
  // By path from the root: this module also runs compiled, from .build/js/cli.
  const launcher = pathToFileURL(join(ROOT, 'bin', 'launch.js')).href;
  const { sourceDigest: digestOf } = (await import(launcher)) as typeof LaunchModule;
  return digestOf(['workflows', 'lib'], ['node_modules/@temporalio/workflow/package.json']);
};

/** Bundles the workflows now and writes the bundle and its digest (atomically) to `.build/`. */
export const buildWorkflowBundle = async (digest?: string): Promise<string> => {
  const { bundleWorkflowCode, DefaultLogger } = await import('@temporalio/worker');
  const sources = digest ?? (await sourceDigest());
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
  await mkdir(BUILD_DIR, { recursive: true });
  const tmp = `.${process.pid}.tmp`;
  await writeFile(`${CODE}${tmp}`, code);
  await writeFile(`${DIGEST}${tmp}`, sources);
  // The code first: a digest never names code that is not there yet.
  await rename(`${CODE}${tmp}`, CODE);
  await rename(`${DIGEST}${tmp}`, DIGEST);
  return CODE;
};

/**
 * A bundle made from the current sources: the prebuilt one when its digest matches, else a new
 * one (bundled now and kept for the next start).
 */
export const workflowBundle = async (): Promise<{ code: string }> => {
  const digest = await sourceDigest();
  if (await isBundleCurrent(digest)) return { code: await readFile(CODE, 'utf8') };
  return { code: await readFile(await buildWorkflowBundle(digest), 'utf8') };
};

/** True when `.build/` holds a bundle made from the current sources. */
export const isBundleCurrent = async (digest?: string): Promise<boolean> =>
  existsSync(CODE) && (await readFile(DIGEST, 'utf8').catch(() => '')) === (digest ?? (await sourceDigest()));
