/**
 * Component mode's aggregate repositories (dlrn-spec §4.9): the `.repo` files of every
 * component's `current` (or `consistent`, or a promotion) concatenated into one, named by its md5,
 * in `repos/<name>/<h0h1>/<h2h3>/<md5>/` with versions.csv, and linked from `repos/<name>/`.
 * The md5 is the aggregate hash CI jobs vote on and promotions record.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DlrnConfig } from '../config/index.ts';
import { switchLink, VERSIONS_HEADER } from './links.ts';

/** The three links of `name`'s aggregate in `repos/<name>/`. */
export const aggregateLinks = (config: DlrnConfig, name: string): string[] => {
  const reponame = config.default.reponame ?? 'delorean';
  const top = join(config.default.datadir, 'repos', name);
  return [`${reponame}.repo`, `${reponame}.repo.md5`, 'versions.csv'].map((f) => join(top, f));
};

/**
 * Builds the aggregate for `name` (`current`, `consistent`, a promotion name) over `components`
 * (sorted here) and returns its hash.
 */
export const aggregateRepoFiles = async (
  config: DlrnConfig,
  name: string,
  components: string[],
): Promise<string> => {
  const repos = join(config.default.datadir, 'repos');
  const reponame = config.default.reponame ?? 'delorean';
  let repoText = '';
  const lines: string[] = [];
  for (const component of [...components].sort()) {
    const dir = join(repos, 'component', component, name);
    const repoFile = join(dir, `${reponame}.repo`);
    if (existsSync(repoFile)) repoText += `${await readFile(repoFile, 'utf8')}\n`;
    const csv = join(dir, 'versions.csv');
    if (existsSync(csv))
      lines.push(...(await readFile(csv, 'utf8')).trim().split('\n').slice(1).filter(Boolean));
  }
  const hash = createHash('md5').update(repoText).digest('hex');
  const top = join(repos, name);
  const hashed = join(top, hash.slice(0, 2), hash.slice(2, 4), hash);
  await mkdir(hashed, { recursive: true });
  await writeFile(join(hashed, `${reponame}.repo`), repoText);
  await writeFile(join(hashed, `${reponame}.repo.md5`), hash);
  await writeFile(join(hashed, 'versions.csv'), `${[VERSIONS_HEADER, ...lines].join('\n')}\n`);
  for (const file of [`${reponame}.repo`, `${reponame}.repo.md5`, 'versions.csv']) {
    await switchLink(join(top, file), join(hashed, file));
  }
  return hash;
};
