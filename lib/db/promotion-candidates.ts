/**
 * What automatic promotion decides on, read from DLRN's tables: a target's candidates (commits
 * the builders voted `consistent`, commits promoted to another name, or with use_components the
 * aggregates made by the promotions to another name), their votes (`civotes`, or `civotes_agg`
 * for aggregates), the target's current candidate, and the component commits an aggregate holds.
 */
import { QueryTypes } from 'sequelize';
import {
  evaluateCandidates,
  type Candidate,
  type CandidateVote,
  type Decision,
  type TargetCriteria,
} from '../domain/promotion-criteria.ts';
import type { Database } from './database.ts';
import { listWaivers } from './waivers.ts';

interface CandidateRow {
  commit_hash: string;
  distro_hash: string;
  extended_hash: string | null;
  time: number;
}

interface AggregateRow {
  aggregate_hash: string;
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

const aggregateOf = (r: AggregateRow): Candidate => ({
  key: r.aggregate_hash,
  aggregateHash: r.aggregate_hash,
  time: Number(r.time),
});

/**
 * The aggregates promotions to `source` made, newest first (an aggregate's time is its first
 * row's: when it came to be), at most `limit`, optionally only one.
 */
const aggregateRows = (db: Database, source: string, limit: number, only?: string): Promise<AggregateRow[]> =>
  db.sequelize.query<AggregateRow>(
    `SELECT aggregate_hash, MIN(timestamp) AS time FROM promotions
      WHERE promotion_name = ? AND aggregate_hash IS NOT NULL${only === undefined ? '' : ' AND aggregate_hash = ?'}
      GROUP BY aggregate_hash ORDER BY time DESC, MIN(id) DESC LIMIT ?`,
    {
      replacements: only === undefined ? [source, limit] : [source, only, limit],
      type: QueryTypes.SELECT,
    },
  );

/** The source's candidates, newest first, at most `limit`, optionally only one commit. */
const sourceRows = async (
  db: Database,
  source: Exclude<TargetCriteria['source'], { kind: 'aggregate' }>,
  limit: number,
  only?: { commitHash: string; distroHash: string },
): Promise<CandidateRow[]> => {
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

export const candidatesOf = async (db: Database, criteria: TargetCriteria): Promise<Candidate[]> => {
  const source = criteria.source;
  return source.kind === 'aggregate'
    ? (await aggregateRows(db, source.name, criteria.candidates)).map(aggregateOf)
    : (await sourceRows(db, source, criteria.candidates)).map(candidateOf);
};

/**
 * The commits an aggregate of promote name `source` holds: each component's newest promotion to
 * `source` as of the aggregate's first row (the aggregate is made from the name's links then).
 * Empty when no row carries the aggregate.
 */
export const componentsOf = async (
  db: Database,
  source: string,
  aggregateHash: string,
): Promise<{ promotionId: number; commitId: number; component: string | null }[]> => {
  const rows = await db.sequelize.query<{ id: number; commit_id: number; component: string | null }>(
    `SELECT p.id, p.commit_id, p.component FROM promotions p
      WHERE p.id IN (
        SELECT MAX(q.id) FROM promotions q
         WHERE q.promotion_name = ? AND q.id <= (
           SELECT MIN(r.id) FROM promotions r WHERE r.promotion_name = ? AND r.aggregate_hash = ?)
         GROUP BY q.component)
      ORDER BY p.id`,
    { replacements: [source, source, aggregateHash], type: QueryTypes.SELECT },
  );
  return rows.map((r) => ({
    promotionId: Number(r.id),
    commitId: Number(r.commit_id),
    component: r.component,
  }));
};

/**
 * The target's current candidate: its newest promotion's commit, with its time in the source (or
 * the promotion's own time when the source never had it).
 */
export const currentOf = async (
  db: Database,
  criteria: TargetCriteria,
): Promise<{ key: string; time: number } | undefined> => {
  const source = criteria.source;
  if (source.kind === 'aggregate') {
    const [newest] = await db.sequelize.query<AggregateRow>(
      `SELECT aggregate_hash, timestamp AS time FROM promotions
        WHERE promotion_name = ? AND aggregate_hash IS NOT NULL ORDER BY id DESC LIMIT 1`,
      { replacements: [criteria.name], type: QueryTypes.SELECT },
    );
    if (!newest) return undefined;
    const [inSource] = await aggregateRows(db, source.name, 1, newest.aggregate_hash);
    return { key: newest.aggregate_hash, time: Number(inSource?.time ?? newest.time) };
  }
  const [row] = await db.sequelize.query<CandidateRow>(
    `SELECT c.commit_hash, c.distro_hash, c.extended_hash, p.timestamp AS time
       FROM promotions p JOIN commits c ON c.id = p.commit_id
      WHERE p.promotion_name = ? ORDER BY p.id DESC LIMIT 1`,
    { replacements: [criteria.name], type: QueryTypes.SELECT },
  );
  if (!row) return undefined;
  const [inSource] = await sourceRows(db, source, 1, {
    commitHash: row.commit_hash,
    distroHash: row.distro_hash,
  });
  return { key: candidateOf(row).key, time: Number(inSource?.time ?? row.time) };
};

/** A vote's columns, in `civotes` and `civotes_agg` alike. */
interface VoteRow {
  ci_name: string;
  ci_vote: boolean | number;
  ci_in_progress: boolean | number;
  ci_url: string | null;
  timestamp: number;
  user: string | null;
}

const voteOf = (r: VoteRow): CandidateVote => ({
  job: r.ci_name,
  success: Boolean(r.ci_vote),
  inProgress: Boolean(r.ci_in_progress),
  url: r.ci_url ?? '',
  timestamp: Number(r.timestamp),
  user: r.user,
});

/** The jobs whose votes a target's decision reads: its required jobs and their alternatives. */
const jobsOf = (criteria: TargetCriteria): string[] => [
  ...new Set([...criteria.jobs, ...Object.values(criteria.alternatives).flat()]),
];

/**
 * The votes of each candidate (every build of its commit and distro hash) by the jobs the
 * criteria name, by key. Only those: a site's other jobs may vote hundreds of times on a hash.
 */
export const votesOfCandidates = async (
  db: Database,
  candidates: Candidate[],
  jobs: string[],
): Promise<Map<string, CandidateVote[]>> => {
  const votes = new Map<string, CandidateVote[]>(candidates.map((c) => [c.key, []]));
  if (jobs.length === 0) return votes;
  const aggregates = candidates.flatMap((c) => (c.aggregateHash ? [c.aggregateHash] : []));
  if (aggregates.length > 0) await votesOfAggregates(db, aggregates, jobs, votes);
  const hashes = [...new Set(candidates.flatMap((c) => (c.commitHash ? [c.commitHash] : [])))];
  if (hashes.length === 0) return votes;
  // One query for every candidate: their commits' votes, sorted to each candidate by its pair.
  const rows = await db.sequelize.query<VoteRow & { commit_hash: string; distro_hash: string }>(
    `SELECT c.commit_hash, c.distro_hash, v.ci_name, v.ci_vote, v.ci_in_progress, v.ci_url, v.timestamp,
            v.${db.sequelize.getQueryInterface().quoteIdentifier('user')}
       FROM civotes v JOIN commits c ON c.id = v.commit_id
      WHERE c.commit_hash IN (?) AND v.ci_name IN (?) ORDER BY v.id`,
    { replacements: [hashes, jobs], type: QueryTypes.SELECT },
  );
  const byPair = new Map<string, CandidateVote[]>();
  for (const r of rows) {
    const pair = `${r.commit_hash}/${r.distro_hash}`;
    const list = byPair.get(pair) ?? [];
    list.push(voteOf(r));
    byPair.set(pair, list);
  }
  for (const c of candidates)
    if (!c.aggregateHash) votes.set(c.key, byPair.get(`${c.commitHash ?? ''}/${c.distroHash ?? ''}`) ?? []);
  return votes;
};

/** The votes on aggregates (`civotes_agg`, as report_result records them), into `votes` by hash. */
const votesOfAggregates = async (
  db: Database,
  hashes: string[],
  jobs: string[],
  votes: Map<string, CandidateVote[]>,
): Promise<void> => {
  const rows = await db.sequelize.query<VoteRow & { ref_hash: string }>(
    `SELECT ref_hash, ci_name, ci_vote, ci_in_progress, ci_url, timestamp,
            ${db.sequelize.getQueryInterface().quoteIdentifier('user')}
       FROM civotes_agg WHERE ref_hash IN (?) AND ci_name IN (?) ORDER BY id`,
    { replacements: [hashes, jobs], type: QueryTypes.SELECT },
  );
  for (const r of rows) votes.get(r.ref_hash)?.push(voteOf(r));
};

/** The decision for a target now, from its candidates, their votes, its waivers and its current. */
export const decideTarget = async (
  db: Database,
  criteria: TargetCriteria,
  now: number,
): Promise<{ decision: Decision; current: { key: string; time: number } | undefined }> => {
  const candidates = await candidatesOf(db, criteria);
  const votes = await votesOfCandidates(db, candidates, jobsOf(criteria));
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
