/**
 * A generated info repository shaped like RDO's real one (redhat-openstack/rdoinfo), for the
 * tests that compare our reader with distroinfo. Its data is made up here; only the shape is
 * RDO's:
 *
 *   rdo-full.yml ─ imports rdo.yml, deps.yml and tags.yml (again, as RDO's does)
 *   rdo.yml ─ releases, package-default (with tags), package-configs (templates, one with tags
 *             and one through a YAML merge key), packages; imports tags.yml
 *   tags.yml ─ imports one file per release, tags/under-review.yml and tags/pinned.yml
 *   tags/<release>.yml ─ `- project: X` with `tags: {<release>: }`, mostly empty, sometimes a
 *             mapping overriding component, source-branch (a tag name, a branch, a float-looking
 *             version or a 40-character commit hash) or distro-branch; the newest imports one more
 *             file, tags/<release>-extra.yml (five levels of imports from rdo-full.yml)
 *   deps.yml ─ package-configs of its own (merged with rdo.yml's), dependency packages
 *
 * Projects are listed in many files; some have tags only from the imports (their own list has
 * none, so the default's tags are replaced); one is listed twice in rdo.yml.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** The releases, oldest first: one tag file each. */
export const RELEASES = ['alder', 'birch', 'cedar', 'dogwood', 'elm', 'fir', 'ginkgo', 'hazel'] as const;

/** Deterministic choices: the same repository on every run. */
const random = (seed: number) => {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
  return {
    chance: (p: number) => next() < p,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
    hex: (length: number) =>
      Array.from({ length }, () => '0123456789abcdef'[Math.floor(next() * 16)]).join(''),
  };
};

type Kind = 'core' | 'client' | 'lib' | 'puppet' | 'plain';

interface Project {
  project: string;
  kind: Kind;
  /** The first release that carries it (index into RELEASES); -1: only in under-review. */
  since: number;
  /** Retired after this release index (exclusive), or never. */
  until: number;
}

const KINDS: readonly Kind[] = ['core', 'core', 'client', 'lib', 'lib', 'puppet', 'plain'];

const projectsOf = (count: number, rnd: ReturnType<typeof random>): Project[] =>
  Array.from({ length: count }, (_, i) => {
    const since = rnd.chance(0.05) ? -1 : rnd.chance(0.6) ? 0 : Math.floor(i % RELEASES.length);
    const until = rnd.chance(0.15) ? Math.max(since + 1, RELEASES.length - 2) : RELEASES.length;
    return { project: `proj${String(i).padStart(3, '0')}`, kind: rnd.pick(KINDS), since, until };
  });

const yamlFile = (lines: string[]) => `${lines.join('\n')}\n`;

const rdoYml = (projects: readonly Project[], rnd: ReturnType<typeof random>): string => {
  const lines = [
    'import:',
    '- tags.yml',
    'releases:',
    ...RELEASES.slice()
      .reverse()
      .flatMap((r, i) => [
        `- name: ${r}`,
        `  branch: ${i === 0 ? 'rpm-master' : `${r}-rdo`}`,
        `  identifier: "${2030 - Math.floor(i / 2)}.${(i % 2) + 1}"`,
        '  repos:',
        `  - name: el9s`,
        `    buildsys: cbs/cloud9s-${r}`,
      ]),
    'package-default:',
    '  name: python-%(project)s',
    '  master-distgit: https://git.example.org/rpms/%(project)s-distgit.git',
    '  patches: https://review.example.org/%(project)s.git',
    '  tags:',
    `    ${RELEASES[0]}-uc:`,
    `    ${RELEASES[0]}:`,
    'package-configs:',
    '  base: &base',
    '    upstream: https://git.example.org/openstack/%(project)s',
    '    maintainers:',
    '    - core-team@example.org',
    '  core:',
    '    <<: *base',
    '    name: openstack-%(project)s',
    '    component: compute',
    '  client:',
    '    name: python-%(project)sclient',
    '    upstream: https://git.example.org/openstack/python-%(project)sclient',
    '    component: clients',
    '    maintainers: [clients@example.org, second@example.org]',
    '  lib:',
    '    <<: *base',
    '    component: common',
    '    review-origin: ssh://review.example.org:29418/%(project)s-distgit.git',
    '  puppet:',
    "    name: '%(project)s'",
    '    upstream: https://git.example.org/puppet/%(project)s',
    '    component: tripleo',
    '    maintainers: [puppet@example.org]',
    '    tags:',
    `      ${RELEASES[0]}:`,
    `      ${RELEASES[1]}:`,
    'packages:',
  ];
  for (const p of projects) {
    lines.push(`- project: ${p.project}`);
    if (p.kind === 'plain') {
      lines.push(`  name: ${p.project}-plain`, `  upstream: https://git.example.org/x/${p.project}`);
      lines.push(`  maintainers:`, `  - someone+${p.project}@example.org`);
      if (rnd.chance(0.3))
        lines.push(`  distgit-path: /rpms/%(project)s`, '  master-distgit: https://git.example.org/monorepo');
      if (rnd.chance(0.2))
        lines.push(
          '  upstream: [https://git.example.org/a/%(project)s, https://git.example.org/b/%(project)s]',
        );
    } else lines.push(`  conf: ${p.kind}`);
    // Some projects keep their tags in rdo.yml; the others get them only from the tag files.
    if (p.since === 0 && rnd.chance(0.4)) {
      lines.push('  tags:', `    ${RELEASES[0]}:`);
      if (rnd.chance(0.3)) lines.push('    build-tags-only:');
    }
    if (rnd.chance(0.1)) lines.push('  version-from: 1.10', '  note: 10.0');
    if (rnd.chance(0.05)) lines.push(`  summary: "100%% %(project)s"`);
  }
  // A project listed twice in one file: merged into the first, as distroinfo merges repeats.
  const twice = projects.find((p) => p.kind === 'lib');
  if (twice) lines.push(`- project: ${twice.project}`, '  maintainers: [second-owner@example.org]');
  lines.push('components:', '- name: compute', '- name: clients', '- name: common', '- name: tripleo');
  return yamlFile(lines);
};

const tagFile = (
  release: string,
  index: number,
  projects: readonly Project[],
  rnd: ReturnType<typeof random>,
) => {
  const lines: string[] = [];
  if (index === RELEASES.length - 1) lines.push('import:', `- tags/${release}-extra.yml`);
  lines.push('packages:');
  for (const p of projects) {
    if (p.since < 0 || p.since > index || p.until <= index) continue;
    lines.push(`- project: ${p.project}`, '  tags:');
    const roll = rnd.chance(0.25);
    if (!roll) {
      lines.push(`    ${release}:`);
      continue;
    }
    lines.push(`    ${release}:`);
    const override = rnd.pick(['component', 'tag', 'branch', 'hash', 'float', 'distro'] as const);
    if (override === 'component') lines.push('      component: puppet');
    if (override === 'tag') lines.push(`      source-branch: ${index + 1}.${p.project.length % 7}.0`);
    if (override === 'branch') lines.push(`      source-branch: stable/${release}`);
    if (override === 'hash') lines.push(`      source-branch: ${rnd.hex(40)}`);
    if (override === 'float') lines.push(`      source-branch: ${2020 + index}.1`);
    if (override === 'distro')
      lines.push(`      distro-branch: ${release}-rdo`, `      source-branch: ${release}-eol`);
  }
  return yamlFile(lines);
};

const depsYml = (count: number): string =>
  yamlFile([
    'package-configs:',
    '  dependency:',
    '    master-distgit: https://git.example.org/deps/%(project)s.git',
    '    upstream: https://src.example.org/rpms/%(project)s',
    '    patches:',
    '    tags:',
    '      dependency:',
    '    maintainers:',
    '    - deps@example.org',
    'packages:',
    ...Array.from({ length: count }, (_, i) => [
      `- project: dep${String(i).padStart(2, '0')}`,
      `  name: python-dep${String(i).padStart(2, '0')}`,
      '  conf: dependency',
    ]).flat(),
  ]);

/** Writes the repository into `dir` (made if missing); `projects` packages in rdo.yml. */
export const writeRdoShapedInfo = async (dir: string, projects = 90, seed = 23): Promise<void> => {
  const rnd = random(seed);
  const all = projectsOf(projects, rnd);
  const files: Record<string, string> = {
    'rdo.yml': rdoYml(all, rnd),
    'rdo-full.yml': yamlFile(['import:', '- rdo.yml', '- deps.yml', '- tags.yml']),
    'deps.yml': depsYml(12),
    'tags.yml': yamlFile([
      'import:',
      ...RELEASES.map((r) => `- tags/${r}.yml`),
      '- tags/under-review.yml',
      '- tags/pinned.yml',
    ]),
  };
  RELEASES.forEach((release, index) => {
    files[`tags/${release}.yml`] = tagFile(release, index, all, rnd);
  });
  const newest = RELEASES[RELEASES.length - 1] ?? '';
  files[`tags/${newest}-extra.yml`] = yamlFile([
    'packages:',
    ...all.slice(0, 5).flatMap((p) => [`- project: ${p.project}`, '  tags:', `    ${newest}-extra:`]),
  ]);
  files['tags/under-review.yml'] = yamlFile([
    'packages:',
    ...all
      .filter((p) => p.since < 0)
      .flatMap((p) => [`- project: ${p.project}`, '  tags:', '    under-review:']),
  ]);
  files['tags/pinned.yml'] = yamlFile([
    'packages:',
    ...all
      .slice(10, 14)
      .flatMap((p) => [
        `- project: ${p.project}`,
        '  tags:',
        `    ${newest}:`,
        `      source-branch: ${rnd.hex(40)}`,
        `    pinned:`,
      ]),
  ]);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
};
