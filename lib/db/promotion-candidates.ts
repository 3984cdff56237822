/**
 * What automatic promotion decides on, read from DLRN's tables: a target's candidates (commits
 * the builders voted `consistent`, or commits promoted to another name), their votes, and the
 * target's current candidate. Aggregate candidates (use_components) are not read yet.
 */
import { QueryTypes } from 'sequelize';
import {
  evaluateCandidates,
  type Candidate,
  type CandidateVote,
  type Decision,
  type TargetCriteria,
} from '../domain/promotion-criteria.ts';
import { InputError } from '../domain/errors.ts';
import type { Database } from './database.ts';
import { listWaivers } from './waivers.ts';

interface CandidateRow {
  commit_hash: string;
  distro_hash: string;
  extended_hash: string | null;
  time: number;
}

/** `commit/distro[/extended]`: how a commit candidate is named in answers and waivers. */
export const commitKey = (c: {
  commitHash: string;
  distroHash: string;
  extendedHash?: string | null;
}): string => [c.commitHash, c.distroHash, ...(c.extendedHash ? [c.extendedHash] : [])].join('/');

const candidateOf = (r: CandidateRow): Candidate => ({
  key: commitKey({ commitHash: r.commit_hash, distroHash: r.distro_hash, extendedHash: r.extended_hash }),
  commitHash: r.commit_hash,
  distroHash: r.distro_hash,
  extendedHash: r.extended_hash,
  time: Number(r.time),
});

/** The source's candidates, newest first, at most `limit`, optionally only one commit. */
const sourceRows = async (
  db: Database,
  criteria: TargetCriteria,
  limit: number,
  only?: { commitHash: string; distroHash: string },
): Promise<CandidateRow[]> => {
  if (criteria.source.kind === 'aggregate')
    throw new InputError(
      `${criteria.name}: candidates from aggregates (use_components) are not supported yet; nothing is decided for it`,
    );
  const source = criteria.source;
  const consistent = source.kind === 'consistent';
  const params: (string | number | boolean)[] =
    source.kind === 'consistent' ? ['consistent', true] : [source.name];
  let filter = '';
  if (only) {
    filter = ' AND c.commit_hash = ? AND c.distro_hash = ?';
    params.push(only.commitHash, only.distroHash);
  }
  params.push(limit);
  const sql = consistent
    ? `SELECT c.commit_hash, c.distro_hash, c.extended_hash, MAX(v.timestamp) AS time
         FROM civotes v JOIN commits c ON c.id = v.commit_id
        WHERE v.ci_name = ? AND v.ci_vote = ?${filter}
        GROUP BY c.commit_hash, c.distro_hash, c.extended_hash ORDER BY time DESC LIMIT ?`
    : `SELECT c.commit_hash, c.distro_hash, c.extended_hash, MAX(p.timestamp) AS time
         FROM promotions p JOIN commits c ON c.id = p.commit_id
        WHERE p.promotion_name = ?${filter}
        GROUP BY c.commit_hash, c.distro_hash, c.extended_hash ORDER BY time DESC LIMIT ?`;
  return db.sequelize.query<CandidateRow>(sql, { replacements: params, type: QueryTypes.SELECT });
};

export const candidatesOf = async (db: Database, criteria: TargetCriteria): Promise<Candidate[]> =>
  (await sourceRows(db, criteria, criteria.candidates)).map(candidateOf);

/**
 * The target's current candidate: its newest promotion's commit, with its time in the source (or
 * the promotion's own time when the source never had it).
 */
export const currentOf = async (
  db: Database,
  criteria: TargetCriteria,
): Promise<{ key: string; time: number } | undefined> => {
  const [row] = await db.sequelize.query<CandidateRow>(
    `SELECT c.commit_hash, c.distro_hash, c.extended_hash, p.timestamp AS time
       FROM promotions p JOIN commits c ON c.id = p.commit_id
      WHERE p.promotion_name = ? ORDER BY p.id DESC LIMIT 1`,
    { replacements: [criteria.name], type: QueryTypes.SELECT },
  );
  if (!row) return undefined;
  const [inSource] = await sourceRows(db, criteria, 1, {
    commitHash: row.commit_hash,
    distroHash: row.distro_hash,
  });
  return { key: candidateOf(row).key, time: Number(inSource?.time ?? row.time) };
};

/** The votes of each candidate (every build of its commit and distro hash), by key. */
export const votesOfCandidates = async (
  db: Database,
  candidates: Candidate[],
): Promise<Map<string, CandidateVote[]>> => {
  const votes = new Map<string, CandidateVote[]>(candidates.map((c) => [c.key, []]));
  const hashes = [...new Set(candidates.map((c) => c.commitHash ?? ''))];
  if (hashes.length === 0) return votes;
  // One query for every candidate: their commits' votes, sorted to each candidate by its pair.
  const rows = await db.sequelize.query<{
    commit_hash: string;
    distro_hash: string;
    ci_name: string;
    ci_vote: boolean | number;
    ci_in_progress: boolean | number;
    ci_url: string | null;
    timestamp: number;
    user: string | null;
  }>(
    `SELECT c.commit_hash, c.distro_hash, v.ci_name, v.ci_vote, v.ci_in_progress, v.ci_url, v.timestamp,
            v.${db.sequelize.getQueryInterface().quoteIdentifier('user')}
       FROM civotes v JOIN commits c ON c.id = v.commit_id
      WHERE c.commit_hash IN (?) ORDER BY v.id`,
    { replacements: [hashes], type: QueryTypes.SELECT },
  );
  const byPair = new Map<string, CandidateVote[]>();
  for (const r of rows) {
    const pair = `${r.commit_hash}/${r.distro_hash}`;
    const list = byPair.get(pair) ?? [];
    list.push({
      job: r.ci_name,
      success: Boolean(r.ci_vote),
      inProgress: Boolean(r.ci_in_progress),
      url: r.ci_url ?? '',
      timestamp: Number(r.timestamp),
      user: r.user,
    });
    byPair.set(pair, list);
  }
  for (const c of candidates)
    votes.set(c.key, byPair.get(`${c.commitHash ?? ''}/${c.distroHash ?? ''}`) ?? []);
  return votes;
};

/** The decision for a target now, from its candidates, their votes, its waivers and its current. */
export const decideTarget = async (
  db: Database,
  criteria: TargetCriteria,
  now: number,
): Promise<{ decision: Decision; current: { key: string; time: number } | undefined }> => {
  const candidates = await candidatesOf(db, criteria);
  const votes = await votesOfCandidates(db, candidates);
  const waivers = await listWaivers(db, { now, target: criteria.name });
  const current = await currentOf(db, criteria);
  const decision = evaluateCandidates(
    criteria,
    candidates,
    (c) => votes.get(c.key) ?? [],
    waivers,
    current,
    now,
  );
  return { decision, current };
};
