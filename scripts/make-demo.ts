/**
 * Makes the demo: a dozen small noarch packages, each with an upstream git repository (a few
 * commits, a version tag) and a distgit with its spec, some needing others; an rdoinfo-style
 * info repository listing them; and a projects.ini building them with rpmbuild in local mode.
 * One upstream commit of demo-agent breaks its build and a later one fixes it.
 *
 *   node --import tsx scripts/make-demo.ts DIR             (DIR must not exist or be empty)
 *   node --import tsx scripts/make-demo.ts --advance DIR   (the later commits, the broken one among them)
 *   node --import tsx scripts/make-demo.ts --size N DIR    (a synthetic site of N such packages)
 */
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { commitFiles, createRepo, tag } from './demo/git-repo.ts';

interface DemoPackage {
  name: string;
  requires: string[];
  summary: string;
  /** Upstream commits after the first one. */
  changes: number;
  component: string;
}

export const DEMO_PACKAGES: DemoPackage[] = [
  { name: 'demo-common', requires: [], summary: 'Shared files of the demo', changes: 2, component: 'base' },
  { name: 'demo-config', requires: [], summary: 'Default configuration', changes: 1, component: 'base' },
  { name: 'demo-utils', requires: ['demo-common'], summary: 'Helper scripts', changes: 2, component: 'base' },
  {
    name: 'demo-client',
    requires: ['demo-utils'],
    summary: 'Client library',
    changes: 2,
    component: 'client',
  },
  {
    name: 'demo-server',
    requires: ['demo-utils', 'demo-config'],
    summary: 'Server',
    changes: 2,
    component: 'server',
  },
  { name: 'demo-cli', requires: ['demo-client'], summary: 'Command line', changes: 1, component: 'client' },
  { name: 'demo-docs', requires: [], summary: 'Documentation', changes: 1, component: 'base' },
  {
    name: 'demo-plugins',
    requires: ['demo-server'],
    summary: 'Server plugins',
    changes: 1,
    component: 'server',
  },
  { name: 'demo-ui', requires: ['demo-client'], summary: 'Web interface', changes: 1, component: 'client' },
  { name: 'demo-agent', requires: ['demo-common'], summary: 'Node agent', changes: 3, component: 'server' },
  {
    name: 'demo-tests',
    requires: ['demo-server', 'demo-client'],
    summary: 'Functional tests',
    changes: 1,
    component: 'base',
  },
  {
    name: 'demo-meta',
    requires: ['demo-server', 'demo-cli', 'demo-ui'],
    summary: 'Everything',
    changes: 1,
    component: 'base',
  },
];

/**
 * A synthetic site of `size` tiny packages (`synth-0001`, ...), each requiring up to two earlier
 * ones, chosen by a fixed seed: the same site on every machine, for scale runs and the bench.
 */
export const syntheticPackages = (size: number, seed = 42): DemoPackage[] => {
  let state = seed >>> 0;
  const random = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 4_294_967_296;
  };
  const name = (i: number) => `synth-${String(i + 1).padStart(4, '0')}`;
  return Array.from({ length: size }, (_, i) => {
    const requires = new Set<string>();
    for (let k = 0; k < 2 && i > 0; k++) if (random() < 0.5) requires.add(name(Math.floor(random() * i)));
    return {
      name: name(i),
      requires: [...requires],
      summary: `Synthetic package ${i + 1}`,
      changes: 1,
      component: 'base',
    };
  });
};

/** The upstream commit of demo-agent that breaks its build (1-based, after the first). */
export const BROKEN_CHANGE = { name: 'demo-agent', change: 2 };

/** Commit times: fixed, a minute apart, interleaved across packages, so runs are repeatable. */
export const DEMO_T0 = 1_735_689_600; // 2025-01-01T00:00:00Z

const buildScript = (ok: boolean) =>
  ok
    ? '#!/bin/sh\nset -e\nmkdir -p share\ncp README share/README\ncp CHANGES share/CHANGES\n'
    : '#!/bin/sh\necho "build.sh: error: generated code does not compile" >&2\nexit 1\n';

export const demoSpec = (pkg: DemoPackage): string =>
  [
    `Name:           ${pkg.name}`,
    'Version:        XXX',
    'Release:        XXX',
    `Summary:        ${pkg.summary}`,
    'License:        ASL 2.0',
    `URL:            https://example.org/${pkg.name}`,
    `Source0:        ${pkg.name}-%{upstream_version}.tar.gz`,
    'BuildArch:      noarch',
    ...pkg.requires.map((r) => `BuildRequires:  ${r}`),
    ...pkg.requires.map((r) => `Requires:       ${r}`),
    '',
    '%description',
    `${pkg.summary}: a package of the DLRN on Temporal demo.`,
    '',
    '%prep',
    '%setup -q -n %{name}-%{upstream_version}',
    '',
    '%build',
    'sh build.sh',
    '',
    '%install',
    'mkdir -p %{buildroot}%{_datadir}/%{name}',
    'cp -a share/. %{buildroot}%{_datadir}/%{name}/',
    '',
    '%files',
    '%{_datadir}/%{name}',
    '',
    '%changelog',
    '* Wed Jan 01 2025 Demo Packager <packager@example.org> - 1.0.0-1',
    '- Initial package',
    '',
  ].join('\n');

const infoFile = (dir: string, packages: readonly DemoPackage[]): string =>
  [
    '# Package metadata of the demo, in the rdoinfo/distroinfo format DLRN reads.',
    'package-default:',
    "  name: '%(project)s'",
    `  upstream: ${dir}/upstream/%(project)s`,
    `  master-distgit: ${dir}/distgit/%(project)s-distgit`,
    '  maintainers: [packagers@example.org]',
    '  tags: {demo: }',
    'packages:',
    ...packages.flatMap((p) => [`- project: ${p.name}`, `  component: ${p.component}`]),
    '',
  ].join('\n');

export const demoProjectsIni = (
  dir: string,
): string => `# projects.ini of the demo made by scripts/make-demo.ts.
[DEFAULT]
datadir=${dir}/data
baseurl=file://${dir}/data/repos
distro=rpm-master
source=master
target=centos
project_name=DLRN on Temporal demo
reponame=delorean
maxretries=3
pkginfo_driver=dlrn.drivers.rdoinfo.RdoInfoDriver
build_driver=rpmbuild
workers=2
database_connection=sqlite:///${dir}/data/commits.sqlite
fallback_to_master=1
nonfallback_branches=^master$,^rpm-master$,^main$
release_numbering=0.date.hash
include_srpm_in_repo=true
keep_changelog=false
use_components=false
tags=

[rdoinfo_driver]
repo=${dir}/info
info_files=demo.yml

[temporal]
# Empty: local mode. dlrn starts a Temporal dev server (Web UI on ui_port) when none runs.
address=
local_port=7233
ui_port=8233
`;

/** Commits changes `from`..`to` of every package that has them, interleaved by change. */
const addChanges = async (
  dir: string,
  from: number,
  to: number,
  tick: () => number,
  packages: readonly DemoPackage[] = DEMO_PACKAGES,
): Promise<void> => {
  for (let change = from; change <= to; change++) {
    for (const pkg of packages.filter((p) => p.changes >= change)) {
      const broken = pkg.name === BROKEN_CHANGE.name && change === BROKEN_CHANGE.change;
      const fix = pkg.name === BROKEN_CHANGE.name && change > BROKEN_CHANGE.change;
      await commitFiles(
        join(dir, 'upstream', pkg.name),
        { CHANGES: `1.0.${change}: change ${change} of ${pkg.name}\n`, 'build.sh': buildScript(!broken) },
        tick(),
        broken ? 'Generate code at build time' : fix ? 'Fix the build' : `Change ${change}`,
      );
    }
  }
};

/**
 * The second act of the demo: the later upstream commits, among them the one that breaks
 * demo-agent and the one that fixes it. Run dlrn again after it to build them.
 */
export const advanceDemo = async (target: string): Promise<void> => {
  let time = DEMO_T0 + 86_400;
  await addChanges(resolve(target), 2, Math.max(...DEMO_PACKAGES.map((p) => p.changes)), () => (time += 60));
};

/** Creates the demo (or `packages` instead of its twelve) under `dir`; returns its projects.ini. */
export const makeDemo = async (
  target: string,
  packages: readonly DemoPackage[] = DEMO_PACKAGES,
): Promise<string> => {
  const dir = resolve(target);
  if (existsSync(dir) && (await readdir(dir)).length > 0) throw new Error(`${dir} exists and is not empty`);
  let time = DEMO_T0;
  const tick = () => (time += 60);
  for (const pkg of packages) {
    const upstream = join(dir, 'upstream', pkg.name);
    await createRepo(
      upstream,
      {
        README: `${pkg.name}: ${pkg.summary}\n`,
        CHANGES: '1.0.0: first release\n',
        'build.sh': buildScript(true),
      },
      tick(),
    );
    await tag(upstream, '1.0.0');
    await createRepo(
      join(dir, 'distgit', `${pkg.name}-distgit`),
      { [`${pkg.name}.spec`]: demoSpec(pkg) },
      tick(),
      'rpm-master',
    );
  }
  await addChanges(dir, 1, 1, tick, packages);
  await createRepo(join(dir, 'info'), { 'demo.yml': infoFile(dir, packages) }, tick());
  const ini = join(dir, 'projects.ini');
  await writeFile(ini, demoProjectsIni(dir));
  return ini;
};

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const [first, second, third] = process.argv.slice(2);
  if (first === '--size' && second && /^\d+$/.test(second) && third) {
    const ini = await makeDemo(third, syntheticPackages(Number(second)));
    console.log(`${second} synthetic packages, info repository and ${ini} created`);
  } else if (first === '--advance' && second) {
    await advanceDemo(second);
    console.log(`new upstream commits added to the demo in ${second}`);
  } else if (first && !first.startsWith('-')) {
    const ini = await makeDemo(first);
    console.log(`demo packages, info repository and ${ini} created`);
  } else {
    console.error('usage: make-demo.ts DIR | make-demo.ts --advance DIR | make-demo.ts --size N DIR');
    process.exit(2);
  }
}
