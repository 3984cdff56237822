/** Automatic promotion's test site: a criteria file of three targets, in a projects.ini section. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Api } from './api.ts';

/** From consistent, a target fed by it (with an alternative job), and a dry run. */
export const CRITERIA = `
targets:
  tripleo-ci-testing:
    jobs: [periodic-promote-to-testing]
  current-tripleo:
    from: tripleo-ci-testing
    jobs: [periodic-fs001, periodic-fs035]
    alternatives:
      periodic-fs035: [periodic-fs035-rocky]
  rehearsal:
    jobs: [periodic-promote-to-testing]
    dry_run: true
`;

/** A `[promotions]` section naming a new criteria file with CRITERIA. */
export const criteriaIni = async (): Promise<string> => {
  const file = join(await mkdtemp(join(tmpdir(), 'dlrnt-criteria-')), 'criteria.yaml');
  await writeFile(file, CRITERIA);
  return `\n[promotions]\ncriteria_file=${file}\n`;
};

/** The commit (or distro) hash of test candidate `n`: `c1000…`, `d1000…`. */
export const candidateHash = (prefix: 'c' | 'd', n: number): string => `${prefix}${n}`.padEnd(40, '0');

/**
 * A successful build of candidate `n` with the builder's `consistent` vote at `consistentAt`
 * (seconds), and any other votes given; returns the commit's id.
 */
export const buildCandidate = async (
  api: Api,
  n: number,
  consistentAt: number,
  votes: [job: string, success: boolean][] = [],
): Promise<number> => {
  const commit = await api.db.models.Commit.create({
    projectName: `pkg-${n}`,
    status: 'SUCCESS',
    commitHash: candidateHash('c', n),
    distroHash: candidateHash('d', n),
    dtCommit: n,
    dtDistro: n,
    dtBuild: n,
  });
  const id = commit.get('id') as number;
  for (const [job, success, at] of [
    ['consistent', true, consistentAt] as const,
    ...votes.map(([j, s]) => [j, s, consistentAt] as const),
  ])
    await api.db.models.CiVote.create({
      commitId: id,
      ciName: job,
      ciUrl: job === 'consistent' ? '' : `https://ci.example/${job}`,
      ciVote: success,
      ciInProgress: false,
      timestamp: at,
      notes: '',
      user: null,
      component: null,
    });
  return id;
};
