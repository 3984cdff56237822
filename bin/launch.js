// Starts a command: the compiled JavaScript in .build/js when `npm run build` made it from the
// current sources, otherwise the TypeScript sources through tsx (slower to start, never stale).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';

// A young generation of 1 MB (V8's default is 16 MB per semi-space) for every isolate: the bins'
// shebang gives the flag to the main thread; here it also reaches the workflow thread when a bin is
// run as `node bin/<command>.js`. Measured on the demo: peak RSS 315 -> 260 MB, no slower.
v8.setFlagsFromString('--max-semi-space-size=1');

// Threads for libuv's pool (4 by default): file system calls, DNS, and every SQLite statement,
// which waits for a lock on one of them (lib/db/sqlite-busy.ts). Read at the pool's first use,
// which comes after this line.
process.env.UV_THREADPOOL_SIZE ??= '32';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The folders compiled to .build/js (tsconfig.build.json). */
export const COMPILED_DIRS = ['activities', 'api', 'cli', 'lib', 'workflows'];
const DIGEST = join(ROOT, '.build', 'js', '.digest');

/** A digest of the TypeScript files under `dirs` (paths and contents) and of `extra` files. */
export const sourceDigest = (dirs, extra = []) => {
  const hash = createHash('sha256');
  for (const dir of dirs) {
    const files = readdirSync(join(ROOT, dir), { recursive: true })
      .filter((f) => f.endsWith('.ts'))
      .sort();
    for (const file of files) hash.update(`${dir}/${file}\0`).update(readFileSync(join(ROOT, dir, file)));
  }
  for (const file of extra) hash.update(`${file}\0`).update(readFileSync(join(ROOT, file)));
  return hash.digest('hex');
};

/** The digest the compiled JavaScript must carry to be used. */
export const compiledDigest = () => sourceDigest(COMPILED_DIRS, ['package.json', 'tsconfig.json']);

/** Runs `entry` (a path under the root without extension, e.g. `cli/dlrn`). */
export const launch = async (entry) => {
  if (existsSync(DIGEST) && readFileSync(DIGEST, 'utf8') === compiledDigest()) {
    await import(join(ROOT, '.build', 'js', `${entry}.js`));
    return;
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import(join(ROOT, `${entry}.ts`));
};
