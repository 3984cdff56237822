/**
 * recordResult: the commit's row in DLRN's `commits` table, and the files DLRN leaves in the
 * hashed directory about it: `commit.yaml`, and on failure `notes.log` (and `rpmbuild.log`
 * holding the error when no step wrote one).
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LogFile, type BuildJob } from '../../lib/domain/build.ts';
import type { BuildStatusName } from '../../lib/domain/packages.ts';
import { dumpListOfStringMaps } from '../../lib/domain/pyyaml.ts';
import type { CommitAttributes } from '../../lib/db/index.ts';
import type { ActivityDeps } from '../deps.ts';
import { removeWorkspace, workspaceOf } from './workspace.ts';

export interface RecordInput {
  job: BuildJob;
  status: BuildStatusName;
  notes: string;
  artifacts: string[];
}

/**
 * DLRN's commit.yaml, as PyYAML dumps it (lib/domain/pyyaml.ts): every column as Python's str()
 * of its value (`None` for NULL). DLRN dumps the commit its pkginfo driver made, whose commit time
 * is a float (`'1735776360.0'`) except from the local driver (`'0'`).
 */
const commitYaml = (row: CommitAttributes): string => {
  const columns: Record<string, string> = {};
  for (const [key, value] of Object.entries(row)) {
    const column = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    columns[column] = value === null || value === undefined ? 'None' : String(value as string | number);
  }
  if (row.dtCommit)
    columns.dt_commit = Number.isInteger(row.dtCommit) ? `${row.dtCommit}.0` : String(row.dtCommit);
  return dumpListOfStringMaps('commits', [columns]);
};

export const recordResult = async (deps: ActivityDeps, input: RecordInput): Promise<{ id: number }> => {
  const { job, status, notes } = input;
  const { commit } = job;
  const ws = workspaceOf(deps, job);
  await mkdir(ws.outputDir, { recursive: true });
  if (status !== 'SUCCESS') {
    if (!existsSync(join(ws.outputDir, LogFile.rpmbuild)))
      await writeFile(join(ws.outputDir, LogFile.rpmbuild), `${notes}\n`);
    await writeFile(join(ws.outputDir, LogFile.notes), notes);
  }
  const { Commit } = deps.db.models;
  // A retried activity must not insert twice: the same build time identifies this attempt's row.
  const existing = await Commit.findOne({
    where: {
      projectName: commit.projectName,
      commitHash: commit.commitHash,
      distroHash: commit.distroHash,
      extendedHash: commit.extendedHash,
      dtBuild: job.dtBuild,
    },
  });
  const values = {
    type: commit.type,
    dtCommit: Math.trunc(commit.dtCommit),
    dtDistro: commit.dtDistro,
    dtExtended: commit.dtExtended,
    dtBuild: job.dtBuild,
    projectName: commit.projectName,
    repoDir: commit.repoDir,
    distgitDir: commit.distgitDir,
    commitHash: commit.commitHash,
    distroHash: commit.distroHash,
    extendedHash: commit.extendedHash,
    commitBranch: commit.commitBranch,
    status,
    component: commit.component,
    artifacts: input.artifacts.length ? input.artifacts.join(',') : null,
    notes,
    flags: 0,
    versionsCsv: commit.versionsCsv,
  };
  const row = existing ? await existing.update(values) : await Commit.create(values);
  await writeFile(join(ws.outputDir, 'commit.yaml'), commitYaml(row.get({ plain: true })));
  await removeWorkspace(deps, job);
  return { id: row.getDataValue('id') };
};
