/**
 * rsyncBuild: copies a build's hashed directory and the reports to `rsyncdest` over ssh on
 * `rsyncport` (dlrn-spec §4.10), then `current` and `consistent`. As in DLRN, a build whose
 * repository cannot be copied is recorded FAILED with rsync's error; a failure to copy the links
 * is only logged.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { commitDir } from '../../lib/domain/repo-layout.ts';
import type { BuildJob } from '../../lib/domain/build.ts';
import type { ActivityDeps } from '../deps.ts';

const run = promisify(execFile);

const REPORTS = ['report.html', 'status_report.html', 'styles.css', 'queue.html', 'status_report.csv'];

export interface RsyncInput {
  job: BuildJob;
  commitId: number;
  succeeded: boolean;
}

export interface RsyncResult {
  synced: boolean;
  error?: string;
}

export const rsyncBuild = async (deps: ActivityDeps, input: RsyncInput): Promise<RsyncResult> => {
  const d = deps.config.default;
  if (!d.rsyncdest) return { synced: false };
  const repos = join(d.datadir, 'repos');
  const ssh = ['-e', `ssh -p ${d.rsyncport} -o StrictHostKeyChecking=no`];
  const sources = [
    `${repos}/./${commitDir(input.job.commit)}`,
    ...REPORTS.filter((f) => existsSync(join(repos, f))).map((f) => `${repos}/./${f}`),
  ];
  try {
    await run('rsync', ['-avzR', '--delete-delay', ...ssh, ...sources, d.rsyncdest], {
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const error = `rsync to ${d.rsyncdest} failed: ${((err as { stderr?: string }).stderr ?? String(err)).trim()}`;
    if (input.succeeded)
      await deps.db.models.Commit.update(
        { status: 'FAILED', notes: error },
        { where: { id: input.commitId } },
      );
    return { synced: false, error };
  }
  const links = ['current', 'consistent']
    .filter((l) => existsSync(join(repos, l)))
    .map((l) => `${repos}/./${l}`);
  if (links.length > 0) {
    await run('rsync', ['-avzR', ...ssh, ...links, d.rsyncdest]).catch((err: unknown) =>
      deps.logger.warn({ err }, 'rsync of current and consistent failed'),
    );
  }
  return { synced: true };
};
