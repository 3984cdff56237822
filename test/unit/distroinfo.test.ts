import test from 'ava';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../lib/domain/errors.ts';
import {
  fetchInfo,
  listInfoPackages,
  mergeInfos,
  mergeValues,
  parsePackages,
  readPackages,
  toPlain,
} from '../../lib/pkginfo/distroinfo.ts';
import type { PyDict, PyValue } from '../../lib/pkginfo/py-values.ts';

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

const names = async (tag: string, files = ['rdo.yml']) =>
  (await readPackages(dir, files, tag)).packages.map((p) => p.name);

/** A Python-like dict from a plain object, for the pure functions. */
const dict = (value: Record<string, unknown>): PyDict =>
  new Map(Object.entries(value).map(([k, v]) => [k, py(v)]));
const py = (value: unknown): PyValue =>
  Array.isArray(value)
    ? value.map(py)
    : value !== null && typeof value === 'object'
      ? dict(value as Record<string, unknown>)
      : (value as PyValue);

test('packages expand from package-default < conf < package < tag, with %(key)s templates', async (t) => {
  const { packages, warnings } = await readPackages(dir, ['rdo.yml'], 'zed');
  t.deepEqual(warnings, []);
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
  const { packages } = await readPackages(dir, ['rdo.yml'], '');
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
  const files = await fetchInfo(dir, ['rdo.yml']);
  t.deepEqual(
    files.map((f) => f.file),
    ['rdo.yml', 'tags/zed.yml'],
  );
  const info = toPlain(mergeInfos(files)) as { packages: { project: string; tags: unknown }[] };
  const nova = info.packages.find((p) => p.project === 'nova');
  t.deepEqual(nova?.tags, { zed: { 'source-branch': 'stable/zed' } });
});

test('an empty value adds its key: every file tagging a package keeps its tag (RDO one file per release)', (t) => {
  const merged = mergeValues(
    py({ tags: { train: null } }),
    py({ tags: { ussuri: null, victoria: { component: 'x' } } }),
  );
  t.deepEqual(toPlain(merged), { tags: { train: null, ussuri: null, victoria: { component: 'x' } } });
  t.deepEqual(
    toPlain(mergeValues(py({ a: { k: 1 } }), py({ a: null }))),
    { a: { k: 1 } },
    'null keeps the value',
  );
  t.deepEqual(toPlain(mergeValues(py({ l: [1] }), py({ l: [2] }))), { l: [1, 2] }, 'lists are appended');
  t.deepEqual(toPlain(mergeValues(py({ l: [1] }), py({ l: 'x' }))), { l: 'x' }, 'other values replace');
  const left = py({ tags: { train: null } });
  mergeValues(left, py({ tags: { ussuri: null } }));
  t.deepEqual(toPlain(left), { tags: { train: null } }, 'the inputs are not changed');
});

test('templates are filled once, not recursively; a missing key or config is a clear error', (t) => {
  const info = dict({ 'package-default': { maintainers: ['a@b'] }, 'package-configs': {}, packages: [] });
  const parse = (pkg: Record<string, unknown>) =>
    parsePackages(new Map([...info, ['packages', [dict(pkg)]]]), null, [{ file: 'rdo.yml', data: info }]);
  const [pkg] = parse({ project: 'x', name: 'python-%(project)s', upstream: 'git/%(name)s' });
  t.is(pkg?.get('upstream'), 'git/python-%(project)s');
  t.throws(() => parse({ project: 'x', name: '%(nope)s' }), {
    instanceOf: InputError,
    message: "package x: substitution failed for string '%(nope)s': no key nope",
  });
  t.throws(() => parse({ project: 'x', name: 'x', conf: 'missing' }), {
    message: "package x: package config isn't defined: missing",
  });
  t.throws(() => parse({ project: 'x', name: 'x', conf: null }), {
    message: "package x: package config isn't defined: None",
  });
  t.throws(() => parse({ project: 'x', name: 'x', maintainers: ['nobody'] }), {
    message: "package x: 'nobody' doesn't look like a maintainer's e-mail address",
  });
  t.throws(() => parse({ project: 'x', name: 'https://x/a%20b' }), {
    message: /^package x: cannot fill name = 'https:\/\/x\/a%20b': unsupported format character 'b'/,
  });
});

test('tags match as regular expressions, as distroinfo filters them; ~ excludes', async (t) => {
  const { packages } = await readPackages(dir, ['rdo.yml'], 'ze');
  t.deepEqual(
    packages.map((p) => [p.name, p.sourceBranch]),
    [
      ['openstack-nova', undefined],
      ['python-novaclient', undefined],
    ],
    '"ze" finds the zed tags but applies nothing: no package has a "ze" entry',
  );
  t.deepEqual(await names('~zed'), ['python-oslo.rpm']);
});

test('a tag no package carries is a warning naming it and the tags there are', async (t) => {
  const { packages, warnings } = await listInfoPackages(dir, ['rdo.yml'], 'flamigo');
  t.deepEqual(packages, []);
  t.deepEqual(warnings, [
    'tags=flamigo: no package in rdo.yml carries the tag flamigo; the tags there are antelope, build-tags-only, zed',
  ]);
  t.deepEqual((await listInfoPackages(dir, ['rdo.yml'], 'zed', 'nope')).warnings, [
    'downstream_tag=nope: no package in rdo.yml carries the tag nope; the tags there are antelope, build-tags-only, zed',
  ]);
});

test('a bad info repository is one clear error naming the file or the package', async (t) => {
  const bad = join(dir, 'bad');
  await mkdir(bad, { recursive: true });
  const write = (name: string, text: string) => writeFile(join(bad, name), text);
  await write('loop.yml', 'import: [loop2.yml]\npackages: []\n');
  await write('loop2.yml', 'import: [loop.yml]\n');
  await t.throwsAsync(readPackages(bad, ['loop.yml'], null), {
    instanceOf: InputError,
    message: 'circular info import: loop.yml imports loop2.yml imports loop.yml',
  });
  await write('list.yml', '- a\n- b\n');
  await t.throwsAsync(readPackages(bad, ['list.yml'], null), {
    message: /list\.yml must hold a YAML mapping, not list$/,
  });
  await write(
    'twice.yml',
    'package-default: {maintainers: [a@b]}\npackages:\n- {project: a, name: a}\n- {project: a, name: b}\n',
  );
  await t.throwsAsync(readPackages(bad, ['twice.yml'], null), {
    message: 'project a is listed twice in twice.yml',
  });
  await write(
    'nulltags.yml',
    'package-default: {maintainers: [a@b]}\npackages:\n- {project: a, name: a, tags: }\n',
  );
  await t.throwsAsync(readPackages(bad, ['nulltags.yml'], 'zed'), {
    message: 'package a (nulltags.yml): tags must be a mapping to apply tag zed, not NoneType',
  });
  t.is(
    (await readPackages(bad, ['nulltags.yml'], null)).packages.length,
    1,
    'without a tag, empty tags are fine',
  );
  await write('broken.yml', 'packages: [\n');
  await t.throwsAsync(readPackages(bad, ['broken.yml'], null), { message: /broken\.yml is not valid YAML/ });
});
