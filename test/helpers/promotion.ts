/** Automatic promotion's test site: a criteria file of three targets, in a projects.ini section. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
