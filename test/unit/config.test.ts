import test from 'ava';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError } from '../../lib/domain/errors.ts';
import {
  loadConfig,
  parseConfig,
  PROJECT_ROOT,
  type BuildDriverName,
  type PkginfoDriverName,
} from '../../lib/config/index.ts';
import { parseIni } from '../../lib/config/ini.ts';

const fixture = resolve(PROJECT_ROOT, 'test/fixtures/projects.ini');
const cwd = '/srv/dlrn';
const ini = (body: string) => `[DEFAULT]\n${body}\n`;

test('the sample projects.ini of the manual parses with its values', async (t) => {
  const config = await loadConfig(fixture, { cwd });
  t.is(config.file, fixture);
  t.is(config.default.datadir, '/srv/dlrn/data');
  t.is(config.default.scriptsdir, '/srv/dlrn/scripts');
  t.is(config.default.configdir, '/srv/dlrn/scripts', 'an empty configdir falls back to scriptsdir');
  t.is(config.default.templatedir, '/srv/dlrn/dlrn/templates');
  t.is(config.default.baseurl, 'http://trunk.rdoproject.org/centos7/');
  t.is(config.default.maxretries, 3);
  t.is(config.default.smtpserver, '');
  t.is(config.default.tags, '');
  t.true(config.default.fallbackToMaster);
  t.deepEqual(config.default.nonfallbackBranches, ['^master$', '^rpm-master$', '^rhos-']);
  t.deepEqual(config.default.customPreprocess, []);
  t.true(config.default.includeSrpmInRepo);
  t.false(config.default.keepChangelog);
  t.is(config.pkginfo.name, 'rdoinfo');
  t.is(config.pkginfo.className, 'dlrn.drivers.rdoinfo.RdoInfoDriver');
  t.is(config.build.name, 'mock');
  if (config.pkginfo.name !== 'rdoinfo' || config.build.name !== 'mock') return;
  t.deepEqual(config.pkginfo.options, {
    repo: 'http://github.com/redhat-openstack/rdoinfo',
    infoFiles: ['rdo.yml'],
    cacheDir: null,
  });
  t.deepEqual(config.build.options, { installAfterBuild: true });
});

test('missing options take DLRN defaults, and paths default to the install', (t) => {
  const config = parseConfig('[DEFAULT]\n', { cwd });
  const d = config.default;
  t.is(d.datadir, resolve(PROJECT_ROOT, 'data'));
  t.is(d.scriptsdir, resolve(PROJECT_ROOT, 'scripts'));
  t.is(d.configdir, d.scriptsdir);
  t.is(d.templatedir, resolve(PROJECT_ROOT, 'templates'));
  t.is(d.maxretries, 3);
  t.is(d.workers, 1);
  t.is(d.rsyncport, 22);
  t.is(d.rsyncdest, '');
  t.is(d.projectName, 'RDO');
  t.is(d.gerritTopic, 'rdo-FTBFS');
  t.is(d.gerrit, null);
  t.is(d.baseurl, null);
  t.is(d.databaseConnection, 'sqlite:///commits.sqlite');
  t.deepEqual(d.nonfallbackBranches, ['^master$', '^rpm-master$']);
  t.is(d.releaseNumbering, '0.date.hash');
  t.is(d.releaseMinor, '0');
  t.true(d.includeSrpmInRepo);
  t.false(d.useComponents);
  t.false(d.allowForceRechecks);
  t.is(d.depsUrl, '');
  t.is(config.pkginfo.name, 'rdoinfo');
  t.is(config.build.name, 'mock');
  t.deepEqual(config.temporal, {
    address: '',
    namespace: 'default',
    taskQueue: 'dlrn',
    localPort: 7233,
    uiPort: 8233,
    metricsPort: 0,
  });
  t.deepEqual(config.database, { sqliteWal: true, reconnectTimeout: 600 });
  t.deepEqual(config.git, { stallTimeout: 60 });
  t.deepEqual(config.api, {
    listen: '127.0.0.1',
    port: 5000,
    authDrivers: ['DBAuthentication'],
    protectReadEndpoints: false,
    webhookUrls: [],
    webhookSecret: null,
    trustedProxies: [],
    readCacheMs: 1_000,
    maxBodyBytes: 1_048_576,
    graphqlMaxDepth: 8,
    graphqlMaxAliases: 30,
    graphqlMaxCost: 25_000,
  });
});

test('booleans read as configparser reads them, in any case', (t) => {
  for (const [word, value] of [
    ['1', true],
    ['yes', true],
    ['TRUE', true],
    ['On', true],
    ['0', false],
    ['no', false],
    ['False', false],
    ['OFF', false],
  ] as const) {
    t.is(parseConfig(ini(`use_components=${word}`)).default.useComponents, value, word);
  }
});

test('a bad value names the option, the value and what was expected', (t) => {
  const err = t.throws(() => parseConfig(ini('maxretries=three')), { instanceOf: ConfigError });
  t.regex(err.message, /\[DEFAULT\] maxretries = "three": expected a whole number >= 0/);
  t.deepEqual(
    err.issues.map((i) => i.where),
    ['DEFAULT.maxretries'],
  );
});

test('every problem in the file is listed in one error', (t) => {
  const err = t.throws(
    () =>
      parseConfig(
        ini(
          'workers=0\nkeep_changelog=maybe\nrsyncport=70000\nnonfallback_branches=^master$,(unclosed\nrelease_numbering=1.date.hash',
        ),
      ),
    { instanceOf: ConfigError },
  );
  t.deepEqual(
    err.issues.map((i) => i.where),
    [
      'DEFAULT.rsyncport',
      'DEFAULT.workers',
      'DEFAULT.nonfallback_branches',
      'DEFAULT.release_numbering',
      'DEFAULT.keep_changelog',
    ],
  );
  t.regex(err.message, /workers = "0": expected a whole number >= 1/);
  t.regex(err.message, /keep_changelog = "maybe": expected a boolean/);
  t.regex(err.message, /rsyncport = "70000": expected a whole number from 1 to 65535/);
  t.regex(err.message, /"\(unclosed" is not a valid regular expression/);
  t.regex(
    err.message,
    /release_numbering = "1.date.hash": expected one of 0.date.hash, 0.1.date.hash, minor.date.hash/,
  );
});

test('an unknown driver class name is an error listing the known ones', (t) => {
  const err = t.throws(() => parseConfig(ini('build_driver=dlrn.drivers.fancy.FancyDriver')), {
    instanceOf: ConfigError,
  });
  t.regex(
    err.message,
    /build_driver = "dlrn.drivers.fancy.FancyDriver": unknown driver; expected one of dlrn.drivers.mockdriver.MockBuildDriver/,
  );
});

test("DLRN's driver class names and our short names select the same drivers", (t) => {
  const cases: [string, PkginfoDriverName, string, BuildDriverName][] = [
    ['dlrn.drivers.gitrepo.GitRepoDriver', 'gitrepo', 'dlrn.drivers.kojidriver.KojiBuildDriver', 'koji'],
    ['dlrn.drivers.local.LocalDriver', 'local', 'dlrn.drivers.coprdriver.CoprBuildDriver', 'copr'],
    ['dlrn.drivers.downstream.DownstreamInfoDriver', 'downstream', 'rpmbuild', 'rpmbuild'],
    ['rdoinfo', 'rdoinfo', 'mock', 'mock'],
  ];
  const downstream =
    '[downstream_driver]\ninfo_files=x.yml\nversions_url=file:///v.csv\ndownstream_distro_branch=b\n';
  for (const [pkginfo, pkginfoName, build, buildName] of cases) {
    const config = parseConfig(`${ini(`pkginfo_driver=${pkginfo}\nbuild_driver=${build}`)}${downstream}`);
    t.is(config.pkginfo.name, pkginfoName);
    t.is(config.build.name, buildName);
  }
});

test('driver sections use their ini keys and defaults', (t) => {
  const config = parseConfig(
    ini(
      'build_driver=dlrn.drivers.kojidriver.KojiBuildDriver\n[kojibuild_driver]\nkrb_principal=me@X\nadditional_koji_tags=a, b\nrhpkg_timeout=10',
    ),
  );
  if (config.build.name !== 'koji') return t.fail('koji expected');
  t.deepEqual(config.build.options, {
    krbPrincipal: 'me@X',
    krbKeytab: null,
    scratchBuild: true,
    buildTarget: null,
    arch: 'x86_64',
    useRhpkg: false,
    rhpkgTimeout: 10,
    kojiExe: 'koji',
    fetchMockConfig: false,
    mockBasePackages: '',
    mockPackageManager: '',
    additionalKojiTags: ['a', 'b'],
  });
});

test('the gitrepo section maps directory and skip as DLRN does', async (t) => {
  const text = (await readFile(fixture, 'utf8')).replace(
    'dlrn.drivers.rdoinfo.RdoInfoDriver',
    'dlrn.drivers.gitrepo.GitRepoDriver',
  );
  const config = parseConfig(text);
  if (config.pkginfo.name !== 'gitrepo') return t.fail('gitrepo expected');
  t.deepEqual(config.pkginfo.options, {
    repo: 'http://github.com/openstack/rpm-packaging',
    directories: ['/openstack'],
    skipDirs: ['openstack-macros', 'keystoneauth1'],
    useVersionFromSpec: true,
    keepTarball: false,
    upstreamUrls: [
      'https://opendev.org/openstack/{module}',
      'https://opendev.org/x/{module}',
      'https://opendev.org/opendev/{module}',
    ],
  });
});

test('the downstream driver requires its options when selected', (t) => {
  const err = t.throws(
    () => parseConfig(ini('pkginfo_driver=dlrn.drivers.downstream.DownstreamInfoDriver')),
    { instanceOf: ConfigError },
  );
  t.deepEqual(
    err.issues.map((i) => i.where),
    [
      'downstream_driver.info_files',
      'downstream_driver.versions_url',
      'downstream_driver.downstream_distro_branch',
    ],
  );
});

test('sections of drivers not selected are not interpreted, as in DLRN', (t) => {
  t.notThrows(() => parseConfig(ini('[kojibuild_driver]\nrhpkg_timeout=soon')));
});

test('configparser syntax: ":" delimiter, case-insensitive keys, continuation lines, no inline comments', (t) => {
  const config = parseConfig(
    '[DEFAULT]\nBaseURL: http://x/ ; not a comment\ncustom_preprocess = /bin/a,\n  /bin/b\n# comment\n; comment\n',
  );
  t.is(config.default.baseurl, 'http://x/ ; not a comment');
  t.deepEqual(config.default.customPreprocess, ['/bin/a', '/bin/b']);
});

test('DEFAULT values are inherited by driver sections, as in configparser', (t) => {
  const config = parseConfig(
    ini('build_driver=dlrn.drivers.coprdriver.CoprBuildDriver\ncoprid=account/repo'),
  );
  if (config.build.name !== 'copr') return t.fail('copr expected');
  t.is(config.build.options.coprid, 'account/repo');
});

test('broken syntax is reported with the line', (t) => {
  const { issues } = parseIni('maxretries=1\n[DEFAULT]\nworkers=1\nworkers=2\njunk\n[a]\n[a]\n', 'p.ini');
  t.deepEqual(
    issues.map((i) => i.message),
    [
      'p.ini:1: "maxretries=1" comes before any [section] header',
      'p.ini:4: option "workers" appears twice in [DEFAULT]',
      'p.ini:5: "junk" in [DEFAULT] is not "option = value"',
      'p.ini:7: section [a] appears twice',
    ],
  );
});

test('--config-override replaces an option before parsing', (t) => {
  const config = parseConfig(ini('maxretries=3\n[kojibuild_driver]\narch=x86_64\n'), {
    overrides: [
      'DEFAULT.maxretries=5',
      'DEFAULT.baseurl=http://mirror/repos',
      'kojibuild_driver.arch=aarch64',
      'DEFAULT.build_driver=dlrn.drivers.kojidriver.KojiBuildDriver',
    ],
  });
  t.is(config.default.maxretries, 5);
  t.is(config.default.baseurl, 'http://mirror/repos', 'values other than \\w+ are accepted');
  if (config.build.name !== 'koji') return t.fail('koji expected');
  t.is(config.build.options.arch, 'aarch64');
});

test('a bad --config-override is an error naming the rule', (t) => {
  const err = t.throws(
    () =>
      parseConfig(ini(''), { overrides: ['DEFAULT.no_such_option=1', 'maxretries=4', 'nosection.key=1'] }),
    {
      instanceOf: ConfigError,
    },
  );
  t.regex(err.message, /"DEFAULT.no_such_option=1": Unknown config option DEFAULT.no_such_option/);
  t.regex(err.message, /"maxretries=4": expected section.option=value/);
  t.regex(err.message, /"nosection.key=1": section \[nosection\] is neither in the file nor a DLRN section/);
});

test('a missing file is a ConfigError naming the path', async (t) => {
  await t.throwsAsync(loadConfig('/nonexistent/projects.ini'), {
    instanceOf: ConfigError,
    message: /cannot read \/nonexistent\/projects.ini: ENOENT/,
  });
});

test('the temporal, git, database and api sections are read', (t) => {
  const config = parseConfig(
    ini(
      '[temporal]\naddress=temporal.example:7233\ntask_queue=builds\n[api]\nport=8080\nauth_drivers=DBAuthentication,KrbAuthentication\n' +
        '[git]\nstall_timeout=15\n[database]\nreconnect_timeout=30',
    ),
  );
  t.is(config.git.stallTimeout, 15);
  t.is(config.database.reconnectTimeout, 30);
  t.throws(() => parseConfig(ini('[git]\nstall_timeout=0')), {
    instanceOf: ConfigError,
    message: /stall_timeout/,
  });
  t.is(config.temporal.address, 'temporal.example:7233');
  t.is(config.temporal.taskQueue, 'builds');
  t.is(config.api.port, 8080);
  t.deepEqual(config.api.authDrivers, ['DBAuthentication', 'KrbAuthentication']);
  t.throws(() => parseConfig(ini('[api]\nauth_drivers=LdapAuthentication')), {
    instanceOf: ConfigError,
    message: /"LdapAuthentication" is not an authentication driver/,
  });
});
