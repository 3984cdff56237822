/** The published tree's small shared pieces: atomic symlink switches and versions.csv's header. */
import { randomBytes } from 'node:crypto';
import { rename, rm, symlink } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

export const VERSIONS_HEADER =
  'Project,Source Repo,Source Sha,Dist Repo,Dist Sha,Status,Last Success Timestamp,Component,Extended Sha,Pkg NVR';

/**
 * A temporary name beside `link` that no other switch uses: `.link-<random>.tmp` (short, so any
 * name a link may have fits; promote names ending in `.tmp` are refused, so it is never one).
 */
export const uniqueTempLink = (link: string): string =>
  join(dirname(link), `.link-${randomBytes(8).toString('hex')}.tmp`);

/**
 * Points `link` at `target` (relative), through a temporary link renamed over the old one:
 * never a gap. `temp` defaults to DLRN's `<link>_` (post-build's `current_`, one writer at a
 * time under the post-build lock); promotions, which many requests make at once, pass
 * {@link uniqueTempLink}.
 */
export const switchLink = async (link: string, target: string, temp = `${link}_`): Promise<void> => {
  await rm(temp, { force: true });
  await symlink(relative(dirname(link), target), temp);
  try {
    await rename(temp, link);
  } catch (err) {
    // A folder in the link's place, say: the temporary link must not stay behind.
    await rm(temp, { force: true });
    throw err;
  }
};
