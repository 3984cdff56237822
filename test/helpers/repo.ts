/** Reading a published yum repository the way a yum client would see it. */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** The package file names createrepo_c's primary metadata of `dir` lists, sorted. */
export const primaryPackages = async (dir: string): Promise<string[]> => {
  const { stdout } = await exec('sh', [
    '-c',
    `zcat ${dir}/repodata/*-primary.xml.gz | grep -o '<location href="[^"]*"'`,
  ]);
  return stdout
    .trim()
    .split('\n')
    .map((l) => l.replace(/^<location href="|"$/g, ''))
    .sort();
};

/** The package rows of the repository's versions.csv (header dropped). */
export const versionRows = async (dir: string): Promise<string[]> =>
  (await readFile(join(dir, 'versions.csv'), 'utf8')).trim().split('\n').slice(1);
