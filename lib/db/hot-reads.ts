/**
 * The API's hottest questions, as plain SQL over `db.reads` (lib/db/prepared.ts): the SQL stays
 * in the db layer, the API asks by name.
 */
import type { Database } from './database.ts';
import type { CiVoteAttributes, CommitAttributes } from './models.ts';
import type { SqlValue } from './prepared.ts';

/** DLRN's find_commit: the newest successful build of commit+distro (and extended, when given). */
export const successfulCommitByHashes = async (
  db: Database,
  commitHash: string,
  distroHash: string,
  extendedHash?: string | null,
): Promise<CommitAttributes | undefined> =>
  (
    await db.reads.all<CommitAttributes>(
      "SELECT * FROM commits WHERE status = 'SUCCESS' AND commit_hash = ? AND distro_hash = ?" +
        (extendedHash ? ' AND extended_hash = ?' : '') +
        ' ORDER BY id DESC LIMIT 1',
      extendedHash ? [commitHash, distroHash, extendedHash] : [commitHash, distroHash],
    )
  )[0];

/** A successful build by its id. */
export const successfulCommitById = async (db: Database, id: number): Promise<CommitAttributes | undefined> =>
  (
    await db.reads.all<CommitAttributes>("SELECT * FROM commits WHERE id = ? AND status = 'SUCCESS'", [id])
  )[0];

/** A commit's votes in the order they were recorded, of one result when `success` is given. */
export const votesOfCommit = (
  db: Database,
  commitId: number,
  success?: boolean,
): Promise<CiVoteAttributes[]> =>
  db.reads.all<CiVoteAttributes>(
    `SELECT * FROM civotes WHERE commit_id = ?${success === undefined ? '' : ' AND ci_vote = ?'} ORDER BY id ASC`,
    success === undefined ? [commitId] : [commitId, success],
  );

/**
 * The newest vote after `after` (epoch seconds), narrowed by each filter given; of votes with the
 * same time, the first recorded (the row DLRN 0.26.1 answers). `notConsistent` leaves out the
 * builders' own `consistent` votes.
 */
export const newestVote = async (
  db: Database,
  filter: { after: number; notConsistent?: boolean; job?: string; success?: boolean; component?: string },
): Promise<CiVoteAttributes | undefined> => {
  let sql = 'SELECT * FROM civotes WHERE civotes.timestamp > ?';
  const params: SqlValue[] = [filter.after];
  if (filter.notConsistent) sql += " AND ci_name <> 'consistent'";
  for (const [column, value] of [
    ['ci_name', filter.job],
    ['ci_vote', filter.success],
    ['component', filter.component],
  ] as const) {
    if (value === undefined) continue;
    sql += ` AND ${column} = ?`;
    params.push(value);
  }
  return (
    await db.reads.all<CiVoteAttributes>(`${sql} ORDER BY civotes.timestamp DESC, id ASC LIMIT 1`, params)
  )[0];
};

/** A user's stored password hash. */
export const passwordHashOf = async (db: Database, username: string): Promise<string | undefined> =>
  (await db.reads.all<{ password: string }>('SELECT password FROM users WHERE username = ?', [username]))[0]
    ?.password;
