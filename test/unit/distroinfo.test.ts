import test from 'ava';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../lib/domain/errors.ts';
import { expandPackage, loadInfo, readPackages } from '../../lib/pkginfo/distroinfo.ts';

let dir: string;
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dlrnt-distroinfo-'));
  await mkdir(join(dir, 'tags'));
  await writeFile(
    join(dir, 'rdo.yml'),
    `import:
- tags/zed.yml
package-default:
  name: python-%(project)s
  master-distgit: https://git.example/%(project)s-distgit.git
  maintainers: [team@example.org]
  tags: {zed: , zed-uc: }
package-configs:
  core:
    name: openstack-%(project)s
    upstream: https://opendev.org/openstack/%(project)s
    component: compute
  client:
    upstream: https://opendev.org/openstack/python-%(project)s
    component: clients
    maintainers: [cli@example.org]
packages:
- project: nova
  conf: core
  maintainers: [nova@example.org]
- project: novaclient
  conf: client
  tags:
    zed:
      source-branch: 18.1.0
      distro-branch: zed-rdo
    build-tags-only:
- project: oslo.rpm
  upstream: [https://git.example/a.git, https://git.example/b.git]
  distgit-path: /openstack/%(project)s
  master-distgit: https://git.example/rpm-packaging
  distro-branch: main
  maintainers: [rpm@example.org]
  tags: {antelope: }
`,
  );
  await writeFile(
    join(dir, 'tags', 'zed.yml'),
    'packages:\n- project: nova\n  tags:\n    zed:\n      source-branch: stable/zed\n',
  );
});
test.after.always(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('packages expand from package-default < conf < package < tag, with %(key)s templates', async (t) => {
  const packages = await readPackages(dir, ['rdo.yml'], 'zed');
  t.deepEqual(
    packages.map((p) => p.name),
    ['openstack-nova', 'python-novaclient'],
    'oslo.rpm lacks the zed tag',
  );
  const [nova, client] = packages;
  t.like(nova, {
    project: 'nova',
    upstream: 'https://opendev.org/openstack/nova',
    masterDistgit: 'https://git.example/nova-distgit.git',
    maintainers: ['nova@example.org'],
    component: 'compute',
    sourceBranch: 'stable/zed',
    buildTagsOnly: false,
  });
  t.like(client, {
    upstream: 'https://opendev.org/openstack/python-novaclient',
    maintainers: ['cli@example.org'],
    sourceBranch: '18.1.0',
    distroBranch: 'zed-rdo',
    buildTagsOnly: true,
  });
});

test('without a tag every package is listed; lists and distgit paths are kept', async (t) => {
  const packages = await readPackages(dir, ['rdo.yml'], '');
  t.is(packages.length, 3);
  t.like(packages[2], {
    name: 'python-oslo.rpm',
    upstream: ['https://git.example/a.git', 'https://git.example/b.git'],
    distgitPath: '/openstack/oslo.rpm',
    distroBranch: 'main',
  });
  t.is(packages[0]?.sourceBranch, undefined, 'a tag is applied only when asked for');
});

test('imports are merged into the including file by project', async (t) => {
  const info = await loadInfo(dir, ['rdo.yml']);
  const nova = (info.packages as Record<string, unknown>[]).find((p) => p.project === 'nova');
  t.deepEqual(nova?.tags, { zed: { 'source-branch': 'stable/zed' } });
});

test('templates are filled once, not recursively; a missing key or config is a clear error', (t) => {
  const info = { 'package-default': { maintainers: ['a@b'] }, 'package-configs': {} };
  const pkg = expandPackage(
    { project: 'x', name: 'python-%(project)s', upstream: 'git/%(name)s' },
    info,
    null,
  );
  t.is(pkg.upstream, 'git/python-%(project)s');
  t.throws(() => expandPackage({ project: 'x', name: '%(nope)s' }, info, null), {
    instanceOf: InputError,
    message: 'package x: template "%(nope)s" uses %(nope)s, which is not set',
  });
  t.throws(() => expandPackage({ project: 'x', name: 'x', conf: 'missing' }, info, null), {
    message: 'package x: package config "missing" is not defined',
  });
  t.throws(() => expandPackage({ project: 'x', name: 'x', maintainers: ['nobody'] }, info, null), {
    message: 'package x: "maintainers" must be a non-empty list of e-mail addresses',
  });
});

test('tags match as regular expressions, as distroinfo filters them', async (t) => {
  const packages = await readPackages(dir, ['rdo.yml'], 'ze');
  t.deepEqual(
    packages.map((p) => [p.name, p.sourceBranch]),
    [
      ['openstack-nova', undefined],
      ['python-novaclient', undefined],
    ],
    '"ze" finds the zed tags but applies nothing: no package has a "ze" entry',
  );
});
