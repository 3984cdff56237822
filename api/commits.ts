/** Looking commits up as DLRN's API does, and describing them in its responses. */
import { Op } from 'sequelize';
import { successfulCommitByHashes, type CommitAttributes, type Database } from '../lib/db/index.ts';
import { commitDir } from '../lib/domain/repo-layout.ts';
import { NotFoundError } from '../lib/domain/errors.ts';

export const NOT_FOUND = 'commit_hash+distro_hash+extended_hash combination not found';

/**
 * DLRN's find_commit: the newest successful build of commit+distro, and of the extended hash
 * when a non-empty one is given.
 */
export const findCommit = async (
  db: Database,
  commitHash: string,
  distroHash: string,
  extendedHash?: string | null,
): Promise<CommitAttributes | undefined> => {
  return successfulCommitByHashes(db, commitHash, distroHash, extendedHash);
};

export const requireCommit = async (
  db: Database,
  commitHash: string,
  distroHash: string,
  extendedHash?: string | null,
): Promise<CommitAttributes> => {
  const commit = await findCommit(db, commitHash, distroHash, extendedHash);
  if (!commit) throw new NotFoundError(NOT_FOUND);
  return commit;
};

/** `<commit>_<distro[:8]>`, the name CI jobs know a repository by. */
export const repoHash = (c: Pick<CommitAttributes, 'commitHash' | 'distroHash'>): string =>
  `${c.commitHash ?? ''}_${(c.distroHash ?? '').slice(0, 8)}`;

/** `<baseurl>/<sharded dir>` of a commit. */
export const repoUrl = (baseurl: string | null, c: CommitAttributes): string =>
  `${(baseurl ?? '').replace(/\/+$/, '')}/${commitDir({
    commitHash: c.commitHash ?? '',
    distroHash: c.distroHash,
    extendedHash: c.extendedHash,
    component: c.component,
  })}`;

/** Rows by id, for responses that name the commit of each vote or promotion. */
export const commitsById = async (db: Database, ids: number[]): Promise<Map<number, CommitAttributes>> => {
  if (ids.length === 0) return new Map();
  const rows = await db.models.Commit.findAll({ where: { id: { [Op.in]: [...new Set(ids)] } } });
  return new Map(rows.map((r) => [r.getDataValue('id'), r.get({ plain: true })]));
};
