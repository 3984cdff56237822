/**
 * Build workspaces under `<datadir>/build`, as `dlrn-check` and the sweep of the next run read
 * them: each holds `.owner`, the id of the build workflow that made it, so a workspace whose
 * build is no longer running (terminated, or cancelled while no worker could clean up) is known
 * at once, without waiting hours for it to look stale. `<workspace>.pids` beside it lists the
 * tools the build ran (host and command per pid).
 */
import { existsSync } from 'node:fs';
import { opendir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The file in a workspace naming the build workflow that owns it. */
export const OWNER_FILE = '.owner';

export interface BuildWorkspace {
  /** The folder's name under `<datadir>/build`. */
  name: string;
  path: string;
  /** The owning build workflow's id; undefined for a workspace made before owners were written. */
  owner?: string;
  /** The tools recorded as running for it: pid, host and command. */
  tools: { pid: number; host: string; command: string }[];
}

/** Every workspace under `<datadir>/build` (the `.pids` folders are read into theirs). */
export const listWorkspaces = async (datadir: string): Promise<BuildWorkspace[]> => {
  const build = join(datadir, 'build');
  if (!existsSync(build)) return [];
  const names: string[] = [];
  for await (const entry of await opendir(build))
    if (entry.isDirectory() && !entry.name.endsWith('.pids')) names.push(entry.name);
  const out: BuildWorkspace[] = [];
  for (const name of names.sort()) {
    const path = join(build, name);
    const owner = (await readFile(join(path, OWNER_FILE), 'utf8').catch(() => '')).trim();
    const tools: BuildWorkspace['tools'] = [];
    const pids = `${path}.pids`;
    if (existsSync(pids)) {
      for await (const entry of await opendir(pids)) {
        const [host = '', command = ''] = (
          await readFile(join(pids, entry.name), 'utf8').catch(() => '')
        ).split('\n');
        const pid = Number(entry.name);
        if (Number.isInteger(pid)) tools.push({ pid, host, command });
      }
    }
    out.push({ name, path, ...(owner ? { owner } : {}), tools });
  }
  return out;
};
