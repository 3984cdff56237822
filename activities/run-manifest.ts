/**
 * A run's large inputs, written once and passed by reference: the packages post-build lists in
 * versions.csv, their upstreams for the reports' links, and the run's queue for queue.html. Each
 * build and each report step gets the manifest's path instead of copies, so no workflow history
 * grows with the number of builds times the number of packages. Workers on many machines share
 * datadir, so the file is where every worker finds it.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BuildJob, PublishedPackage } from '../lib/domain/build.ts';
import type { CommitCandidate } from '../lib/domain/packages.ts';
import type { ActivityDeps } from './deps.ts';

export interface RunManifest {
  /** Every package of the driver, in its order (post-build lists them all, as DLRN). */
  packages: PublishedPackage[];
  /** Upstream URL of each package, for links to its commits. */
  upstreams: Record<string, string>;
  /** The run's commits, in build order. */
  queue: CommitCandidate[];
  /** The package keys each queued project's build job carries. */
  jobPackages?: Record<string, BuildJob['pkg']>;
}

/** Where the manifest of run `runId` lives, relative to datadir. */
const refOf = (runId: string): string => `runs/${runId.replace(/[^\w.-]/g, '_')}.json`;

// Read once per worker and run: post-build and reports read it after every build.
const cache = new Map<string, Promise<RunManifest>>();

export const writeRunManifest = async (
  deps: ActivityDeps,
  input: { runId: string; manifest: RunManifest },
): Promise<string> => {
  const ref = refOf(input.runId);
  const path = join(deps.config.default.datadir, ref);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.tmp`, JSON.stringify(input.manifest));
  await rename(`${path}.tmp`, path);
  return ref;
};

export const readRunManifest = (deps: ActivityDeps, ref: string): Promise<RunManifest> => {
  const path = join(deps.config.default.datadir, ref);
  let found = cache.get(path);
  if (!found) {
    found = readFile(path, 'utf8').then((text) => JSON.parse(text) as RunManifest);
    found.catch(() => cache.delete(path));
    cache.set(path, found);
    // A handful of runs at once at most: keep the newest few.
    for (const key of [...cache.keys()].slice(0, -8)) cache.delete(key);
  }
  return found;
};

export const removeRunManifest = async (deps: ActivityDeps, ref: string): Promise<void> => {
  const path = join(deps.config.default.datadir, ref);
  cache.delete(path);
  await rm(path, { force: true });
};
