/**
 * Promotion criteria (`[promotions] criteria_file`): per target promote name, where its candidates
 * come from, the CI jobs each candidate needs, the jobs accepted in place of each, how many of the
 * newest candidates count, and whether the decision moves anything (`dry_run`). Parsing names the
 * file, the target and the key of every error; `evaluateCandidates` is the decision itself, pure,
 * shared by the promotion workflow's activity, `/api/promotion_status` and `dlrn promotions`.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

/** The file's shape, one entry per target promote name. */
export interface TargetCriteria {
  /** The target: the promote name the decision moves. */
  name: string;
  /** Where candidates come from: `consistent`, another promote name, or aggregates of a promote name. */
  source: { kind: 'consistent' } | { kind: 'promotion'; name: string } | { kind: 'aggregate'; name: string };
  /** Jobs a candidate needs, in the file's order. */
  jobs: string[];
  /** For a required job, jobs whose success counts instead. */
  alternatives: Record<string, string[]>;
  /** How many of the newest candidates are considered. */
  candidates: number;
  /** Decide and log, move nothing. */
  dryRun: boolean;
}

export interface PromotionCriteria {
  file: string;
  targets: TargetCriteria[];
}

const DEFAULT_CANDIDATES = 100;

const jobName = z
  .string()
  .min(1, 'a job name is empty')
  .max(256, 'a job name is longer than the 256 characters civotes.ci_name holds');

const targetSchema = z.strictObject({
  from: z.string().min(1, 'is empty').optional(),
  use_components: z.boolean().optional(),
  jobs: z.array(jobName).min(1, 'names no job: a target needs at least one'),
  alternatives: z.record(z.string(), z.array(jobName).min(1, 'lists no job')).optional(),
  candidates: z.number().int().min(1).max(10_000).optional(),
  dry_run: z.boolean().optional(),
});

const fileSchema = z.strictObject({
  targets: z.record(z.string(), targetSchema, {
    error: (issue) =>
      issue.input === undefined ? 'missing: the file lists its targets under "targets:"' : undefined,
  }),
});

/** Where in the file an issue is: `targets.<name>.<key>...`. */
const where = (path: PropertyKey[]): string => path.map(String).join('.');

/** One problem of the criteria file: the file, then where in it, then what is wrong. */
const bad = (file: string, at: string, why: string): ConfigError =>
  new ConfigError([{ where: at || file, message: at ? `${at}: ${why}` : why }], file);

/**
 * The criteria in `text` (the YAML of `file`), checked: every error names the file, the target
 * and the key. `checkName` applies the API's promote-name rules to targets and sources.
 */
export const parseCriteria = (
  file: string,
  text: string,
  checkName: (name: string) => void,
  useComponents: boolean,
): PromotionCriteria => {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw bad(file, '', `not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = fileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue ? where(issue.path) : '';
    const message =
      issue?.code === 'unrecognized_keys'
        ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`
        : (issue?.message ?? 'invalid');
    throw bad(file, at, message);
  }
  const targets = Object.entries(parsed.data.targets).map(([name, t]): TargetCriteria => {
    const fail = (key: string, why: string): never => {
      throw bad(file, `targets.${name}${key ? `.${key}` : ''}`, why);
    };
    const named = (key: string, value: string): void => {
      try {
        checkName(value);
      } catch (err) {
        fail(key, (err as Error).message);
      }
    };
    named('', name);
    const from = t.from ?? 'consistent';
    if (from !== 'consistent') named('from', from);
    if (from === name) fail('from', 'a target cannot take its candidates from itself');
    if (t.use_components && !useComponents)
      fail('use_components', 'aggregates exist only with use_components=true in projects.ini');
    if (t.use_components && from === 'consistent')
      fail('from', 'aggregate candidates come from a promote name (the one component promotions go to)');
    const jobs = new Set<string>();
    for (const job of t.jobs) {
      if (jobs.has(job)) fail('jobs', `${job} is listed twice`);
      jobs.add(job);
    }
    for (const job of Object.keys(t.alternatives ?? {}))
      if (!jobs.has(job)) fail(`alternatives.${job}`, `${job} is not one of the target's jobs`);
    return {
      name,
      source: t.use_components
        ? { kind: 'aggregate', name: from }
        : from === 'consistent'
          ? { kind: 'consistent' }
          : { kind: 'promotion', name: from },
      jobs: t.jobs,
      alternatives: t.alternatives ?? {},
      candidates: t.candidates ?? DEFAULT_CANDIDATES,
      dryRun: t.dry_run ?? false,
    };
  });
  return { file, targets };
};

/** A candidate: a commit (commit and distro hash) or an aggregate hash, with its time in the source. */
export interface Candidate {
  /** `commit_hash/distro_hash[/extended_hash]`, or the aggregate hash. */
  key: string;
  commitHash?: string;
  distroHash?: string;
  extendedHash?: string | null;
  aggregateHash?: string;
  /** When it entered the source (the consistent vote's or the source promotion's time), seconds. */
  time: number;
}

/** A vote on a candidate, as the job reported it. */
export interface CandidateVote {
  job: string;
  success: boolean;
  inProgress: boolean;
  url: string;
  timestamp: number;
  user?: string | null;
}

export interface Waiver {
  id: number;
  target: string;
  job: string;
  reason: string;
  /** Seconds since the epoch. */
  expiresAt: number;
  /** Only this candidate (its key), or every candidate. */
  candidate: string | null;
  user: string;
  createdAt: number;
}

export type JobState =
  | { job: string; state: 'passed'; url: string; timestamp: number }
  | { job: string; state: 'alternative'; by: string; url: string; timestamp: number }
  | { job: string; state: 'waived'; reason: string; until: number; waiver: number }
  | { job: string; state: 'failed'; url: string; timestamp: number }
  | { job: string; state: 'missing' };

export interface CandidateStatus {
  candidate: Candidate;
  jobs: JobState[];
  /** Whether every job passed, by an alternative or by a waiver. */
  meets: boolean;
  /** The one-line reason it is or is not promoted. */
  reason: string;
}

export interface Decision {
  target: string;
  /** The candidates considered, newest first. */
  statuses: CandidateStatus[];
  /** The candidate to promote now, when one is newer than the current and meets the criteria. */
  promote?: CandidateStatus;
}

/** The newest successful vote among `votes` by one of `jobs`. */
const newestSuccess = (votes: CandidateVote[], jobs: string[]): CandidateVote | undefined => {
  let best: CandidateVote | undefined;
  for (const v of votes)
    if (v.success && !v.inProgress && jobs.includes(v.job) && (!best || v.timestamp > best.timestamp))
      best = v;
  return best;
};

/** Where one required job stands for a candidate, at `now`. */
export const jobState = (
  criteria: TargetCriteria,
  candidate: Candidate,
  job: string,
  votes: CandidateVote[],
  waivers: Waiver[],
  now: number,
): JobState => {
  const own = newestSuccess(votes, [job]);
  if (own) return { job, state: 'passed', url: own.url, timestamp: own.timestamp };
  const alternative = newestSuccess(votes, criteria.alternatives[job] ?? []);
  if (alternative)
    return {
      job,
      state: 'alternative',
      by: alternative.job,
      url: alternative.url,
      timestamp: alternative.timestamp,
    };
  const waiver = waivers.find(
    (w) =>
      w.target === criteria.name &&
      w.job === job &&
      w.expiresAt > now &&
      (w.candidate === null || w.candidate === candidate.key),
  );
  if (waiver)
    return { job, state: 'waived', reason: waiver.reason, until: waiver.expiresAt, waiver: waiver.id };
  let failed: CandidateVote | undefined;
  for (const v of votes)
    if (!v.success && !v.inProgress && v.job === job && (!failed || v.timestamp > failed.timestamp))
      failed = v;
  return failed
    ? { job, state: 'failed', url: failed.url, timestamp: failed.timestamp }
    : { job, state: 'missing' };
};

const listed = (states: JobState[], state: JobState['state']): string[] =>
  states.filter((s) => s.state === state).map((s) => s.job);

/**
 * The decision for one target: every candidate's jobs, and the newest candidate that meets the
 * criteria if it is newer than `current` (the target's candidate now, with its time in the
 * source). Never an older one: a target does not move back.
 */
export const evaluateCandidates = (
  criteria: TargetCriteria,
  candidates: Candidate[],
  votesOf: (candidate: Candidate) => CandidateVote[],
  waivers: Waiver[],
  current: { key: string; time: number } | undefined,
  now: number,
): Decision => {
  const ordered = [...candidates].sort((a, b) => b.time - a.time).slice(0, criteria.candidates);
  let promote: CandidateStatus | undefined;
  const statuses = ordered.map((candidate): CandidateStatus => {
    const jobs = criteria.jobs.map((job) =>
      jobState(criteria, candidate, job, votesOf(candidate), waivers, now),
    );
    const meets = jobs.every(
      (j) => j.state === 'passed' || j.state === 'alternative' || j.state === 'waived',
    );
    let reason: string;
    if (current && candidate.key === current.key) reason = `is the current ${criteria.name}`;
    else if (current && candidate.time <= current.time)
      reason = `older than the current ${criteria.name} (${current.key}): a target never moves back`;
    else if (!meets) {
      const failed = listed(jobs, 'failed');
      const missing = listed(jobs, 'missing');
      reason = [
        failed.length ? `failed: ${failed.join(', ')}` : '',
        missing.length ? `no successful vote yet: ${missing.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; ');
    } else if (promote) reason = `meets the criteria, but ${promote.candidate.key} is newer`;
    else
      reason = criteria.dryRun
        ? 'meets the criteria: would be promoted (dry run)'
        : 'meets the criteria: promoted';
    const status = { candidate, jobs, meets, reason };
    if (meets && !promote && (!current || (candidate.key !== current.key && candidate.time > current.time)))
      promote = status;
    return status;
  });
  return { target: criteria.name, statuses, ...(promote ? { promote } : {}) };
};
