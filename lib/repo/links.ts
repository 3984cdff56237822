/** The published tree's small shared pieces: atomic symlink switches and versions.csv's header. */
import { rename, rm, symlink } from 'node:fs/promises';
import { dirname, relative } from 'node:path';

export const VERSIONS_HEADER =
  'Project,Source Repo,Source Sha,Dist Repo,Dist Sha,Status,Last Success Timestamp,Component,Extended Sha,Pkg NVR';

/** Points `link` at `target` (relative), through `<link>_` renamed over the old link: never a gap. */
export const switchLink = async (link: string, target: string): Promise<void> => {
  const temp = `${link}_`;
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
