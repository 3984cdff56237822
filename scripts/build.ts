/**
 * `npm run build [-- --if-stale]`: what is prepared once per install instead of at every start
 * (scripts/bootstrap.sh runs it after `npm ci`). `--if-stale` keeps what is current.
 * - The workflow bundle (cli/workflow-bundle.ts), which a worker would otherwise make at start.
 * - The commands compiled to JavaScript in .build/js (tsconfig.build.json), which bin/launch.js
 *   runs while their digest matches the sources; otherwise it runs the sources through tsx.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compiledDigest, ROOT } from '../bin/launch.js';
import { buildWorkflowBundle, isBundleCurrent } from '../cli/workflow-bundle.ts';

const ifStale = process.argv.includes('--if-stale');
const out = join(ROOT, '.build', 'js');
let started = Date.now();
if (ifStale && (await isBundleCurrent())) console.log('workflow bundle is current');
else console.log(`workflow bundle written to ${await buildWorkflowBundle()} in ${Date.now() - started} ms`);

started = Date.now();
// Taken before compiling: sources edited meanwhile leave a digest that no longer matches.
const digest = compiledDigest();
if (ifStale && existsSync(join(out, '.digest')) && readFileSync(join(out, '.digest'), 'utf8') === digest) {
  console.log('compiled JavaScript is current');
} else {
  await rm(out, { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
  await writeFile(join(out, '.digest'), digest);
  console.log(`commands compiled to ${out} in ${Date.now() - started} ms`);
}
