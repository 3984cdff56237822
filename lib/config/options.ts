/**
 * The option tables of projects.ini: DLRN's `[DEFAULT]` and driver sections with DLRN's ini
 * keys, types and defaults (dlrn-spec §2), and our own `[temporal]`, `[git]`, `[database]` and `[api]`
 * sections.
 * Attribute names are camelCase inside; the ini key is what a DLRN user writes.
 */

import { isIP } from 'node:net';

/** How one option is read: its ini key, a parser that throws a reason, and its default. */
export interface OptionSpec<T> {
  key: string;
  parse: (raw: string) => T;
  default: T;
  /** The option must be set (non-empty) when its section is in use. */
  required?: boolean;
}

export class OptionValueError extends Error {
  override name = 'OptionValueError';
}

const BOOLEAN_WORDS: Record<string, boolean> = {
  '1': true,
  yes: true,
  true: true,
  on: true,
  '0': false,
  no: false,
  false: false,
  off: false,
};

/** Booleans as configparser reads them: 1/yes/true/on and 0/no/false/off, any case. */
const parseBoolean = (raw: string): boolean => {
  const value = BOOLEAN_WORDS[raw.trim().toLowerCase()];
  if (value === undefined) throw new OptionValueError('expected a boolean (true/false, yes/no, on/off, 1/0)');
  return value;
};

const parseInteger =
  (min: number, max = Number.MAX_SAFE_INTEGER) =>
  (raw: string): number => {
    const text = raw.trim();
    if (!/^[+-]?\d+$/.test(text)) throw new OptionValueError(`expected a whole number >= ${min}`);
    const value = Number(text);
    if (value < min || value > max) {
      throw new OptionValueError(
        max === Number.MAX_SAFE_INTEGER
          ? `expected a whole number >= ${min}`
          : `expected a whole number from ${min} to ${max}`,
      );
    }
    return value;
  };

/**
 * Comma lists. DLRN splits on `,` without trimming; we trim each item and drop empty ones, so
 * `a, b` means `['a', 'b']` and an empty value means no items, which is what such lines intend.
 */
const parseList = (raw: string): string[] =>
  raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

/** A comma list of regular expressions, each checked to compile. */
const parseRegexList = (raw: string): string[] => {
  const items = parseList(raw);
  for (const item of items) {
    try {
      new RegExp(item);
    } catch (err) {
      throw new OptionValueError(`"${item}" is not a valid regular expression (${(err as Error).message})`);
    }
  }
  return items;
};

const str = (key: string, def: string | null = null, required = false): OptionSpec<string | null> => ({
  key,
  parse: (raw) => raw,
  default: def,
  required,
});
const text = (key: string, def: string): OptionSpec<string> => ({ key, parse: (raw) => raw, default: def });
const int = (key: string, def: number, min = 0, max?: number): OptionSpec<number> => ({
  key,
  parse: parseInteger(min, max),
  default: def,
});
const bool = (key: string, def: boolean): OptionSpec<boolean> => ({ key, parse: parseBoolean, default: def });
const list = (key: string, def: string[] = [], required = false): OptionSpec<string[]> => ({
  key,
  parse: parseList,
  default: def,
  required,
});
const oneOf = <T extends string>(key: string, values: readonly T[], def: T): OptionSpec<T> => ({
  key,
  parse: (raw) => {
    if (!(values as readonly string[]).includes(raw)) {
      throw new OptionValueError(`expected one of ${values.join(', ')}`);
    }
    return raw as T;
  },
  default: def,
});

export type SectionSpec = Record<string, OptionSpec<unknown>>;
export type SectionValues<S extends SectionSpec> = {
  [K in keyof S]: S[K] extends OptionSpec<infer T> ? T : never;
};

const RELEASE_NUMBERINGS = ['0.date.hash', '0.1.date.hash', 'minor.date.hash'] as const;

/** `[DEFAULT]`. Path defaults (`datadir`, `scriptsdir`, `templatedir`) are filled in by the loader. */
export const defaultSection = {
  tags: str('tags'),
  datadir: str('datadir'),
  /** Set to anything, even empty, to open a Gerrit review on failure. */
  gerrit: str('gerrit'),
  maxretries: int('maxretries', 3),
  baseurl: str('baseurl'),
  smtpserver: str('smtpserver'),
  distro: str('distro'),
  source: str('source'),
  target: str('target'),
  reponame: str('reponame'),
  rsyncdest: text('rsyncdest', ''),
  rsyncport: int('rsyncport', 22, 1, 65535),
  scriptsdir: str('scriptsdir'),
  configdir: str('configdir'),
  templatedir: str('templatedir'),
  projectName: text('project_name', 'RDO'),
  pkginfoDriver: text('pkginfo_driver', 'dlrn.drivers.rdoinfo.RdoInfoDriver'),
  buildDriver: text('build_driver', 'dlrn.drivers.mockdriver.MockBuildDriver'),
  workers: int('workers', 1, 1),
  gerritTopic: text('gerrit_topic', 'rdo-FTBFS'),
  databaseConnection: text('database_connection', 'sqlite:///commits.sqlite'),
  fallbackToMaster: bool('fallback_to_master', true),
  nonfallbackBranches: {
    key: 'nonfallback_branches',
    parse: parseRegexList,
    default: ['^master$', '^rpm-master$'],
  } as OptionSpec<string[]>,
  /** DLRN treats unknown values as `0.date.hash`; we reject them instead of guessing. */
  releaseNumbering: oneOf('release_numbering', RELEASE_NUMBERINGS, '0.date.hash'),
  releaseMinor: text('release_minor', '0'),
  customPreprocess: list('custom_preprocess'),
  includeSrpmInRepo: bool('include_srpm_in_repo', true),
  keepChangelog: bool('keep_changelog', false),
  allowForceRechecks: bool('allow_force_rechecks', false),
  useComponents: bool('use_components', false),
  depsUrl: text('deps_url', ''),
} satisfies SectionSpec;

export const rdoinfoSection = {
  repo: str('repo'),
  infoFiles: list('info_files', ['rdo.yml']),
  cacheDir: str('cache_dir'),
} satisfies SectionSpec;

export const downstreamSection = {
  repo: str('repo'),
  infoFiles: list('info_files', [], true),
  versionsUrl: list('versions_url', [], true),
  downstreamDistroBranch: str('downstream_distro_branch', null, true),
  downstreamTag: str('downstream_tag'),
  downstreamDistgitKey: str('downstream_distgit_key'),
  downstreamSourceGitKey: str('downstream_source_git_key'),
  downstreamSourceGitBranch: str('downstream_source_git_branch'),
  useUpstreamSpec: bool('use_upstream_spec', false),
  /** Items of the form `regex/replacement`. */
  downstreamSpecReplaceList: list('downstream_spec_replace_list'),
  cacheDir: str('cache_dir'),
} satisfies SectionSpec;

export const gitrepoSection = {
  repo: str('repo'),
  directories: list('directory'),
  skipDirs: list('skip'),
  useVersionFromSpec: bool('use_version_from_spec', false),
  keepTarball: bool('keep_tarball', false),
  /**
   * Ours: where to look for a package's upstream, `{module}` standing for its directory name.
   * DLRN hard-codes these three opendev.org locations; `file://` templates work too.
   */
  upstreamUrls: list('upstream_urls', [
    'https://opendev.org/openstack/{module}',
    'https://opendev.org/x/{module}',
    'https://opendev.org/opendev/{module}',
  ]),
} satisfies SectionSpec;

export const localSection = {} satisfies SectionSpec;

export const mockSection = {
  installAfterBuild: bool('install_after_build', true),
} satisfies SectionSpec;

export const kojiSection = {
  krbPrincipal: str('krb_principal'),
  krbKeytab: str('krb_keytab'),
  scratchBuild: bool('scratch_build', true),
  buildTarget: str('build_target'),
  arch: text('arch', 'x86_64'),
  useRhpkg: bool('use_rhpkg', false),
  rhpkgTimeout: int('rhpkg_timeout', 3600),
  kojiExe: text('koji_exe', 'koji'),
  fetchMockConfig: bool('fetch_mock_config', false),
  mockBasePackages: text('mock_base_packages', ''),
  mockPackageManager: text('mock_package_manager', ''),
  additionalKojiTags: list('additional_koji_tags'),
} satisfies SectionSpec;

export const coprSection = {
  coprid: str('coprid'),
} satisfies SectionSpec;

/** Our rpmbuild driver (not in DLRN) has no options; the section may be absent. */
export const rpmbuildSection = {} satisfies SectionSpec;

/** New: where Temporal is. An empty address means local mode (dlrn starts a dev server). */
export const temporalSection = {
  address: text('address', ''),
  namespace: text('namespace', 'default'),
  taskQueue: text('task_queue', 'dlrn'),
  /** Local mode: the dev server's gRPC port and Web UI port. */
  localPort: int('local_port', 7233, 1, 65535),
  uiPort: int('ui_port', 8233, 1, 65535),
  /**
   * Workers (dlrn-worker, dlrn-server) serve the Temporal SDK's Prometheus metrics on this port:
   * activity and workflow latencies and failures by type (buildRpm, postBuild, ...). 0: off.
   */
  metricsPort: int('metrics_port', 0, 0, 65535),
} satisfies SectionSpec;

/** New: how long git may go without a word from a server. */
export const gitSection = {
  /**
   * Seconds a clone or fetch may go without progress (no byte from the server, no line from
   * git) before it is stopped and its package skipped with git's words, as other git failures
   * are; for https, git itself gives up when less than 1000 bytes a second arrive for that long,
   * for ssh the connection and keep-alive wait as long. DLRN waits up to an hour per command.
   */
  stallTimeout: int('stall_timeout', 60, 1),
} satisfies SectionSpec;

/** New: automatic promotion (lib/domain/promotion-criteria.ts). */
export const promotionsSection = {
  /**
   * The YAML file of promotion criteria: per target promote name, where candidates come from,
   * the jobs they need and the jobs accepted instead. Empty: automatic promotion is off.
   */
  criteriaFile: str('criteria_file'),
} satisfies SectionSpec;

/** New: how we use DLRN's database. */
export const databaseSection = {
  /**
   * SQLite only. True (the default): the file is switched to write-ahead logging when opened,
   * and stays so. Readers no longer wait for writers and a commit costs one disk sync instead of
   * three, so the API takes three times the votes a second, and reads beside them stay fast.
   * SQLite keeps two files beside the database while it is open, `<file>-wal` (the commits not
   * yet copied into the file) and `<file>-shm` (the index of that log); both are part of the
   * database. DLRN and the sqlite3 tool read and write such a file as before; copy it with
   * `sqlite3 commits.sqlite .backup`, not `cp`, while processes run. False: the file goes back
   * to DLRN's rollback journal (a database on a network file system, where SQLite's shared
   * memory does not work); the switch happens when no other process has the file open.
   */
  sqliteWal: bool('sqlite_wal', true),
  /**
   * Seconds a worker waits for a PostgreSQL or MariaDB server that stopped answering (a restart),
   * trying again with growing pauses and saying what it waits for, before the step fails.
   */
  reconnectTimeout: int('reconnect_timeout', 600),
} satisfies SectionSpec;

const AUTH_DRIVERS = ['DBAuthentication', 'KrbAuthentication'] as const;

/** New: the HTTP API server. */
export const apiSection = {
  listen: text('listen', '127.0.0.1'),
  port: int('port', 5000, 1, 65535),
  authDrivers: {
    key: 'auth_drivers',
    parse: (raw: string) => {
      const items = parseList(raw);
      for (const item of items) {
        if (!(AUTH_DRIVERS as readonly string[]).includes(item)) {
          throw new OptionValueError(
            `"${item}" is not an authentication driver; expected ${AUTH_DRIVERS.join(', ')}`,
          );
        }
      }
      return items.length ? items : ['DBAuthentication'];
    },
    default: ['DBAuthentication'],
  } as OptionSpec<string[]>,
  /** As DLRN's PROTECT_READ_ENDPOINTS: when true, GET endpoints need credentials too. */
  protectReadEndpoints: bool('protect_read_endpoints', false),
  /**
   * New: URLs that get a JSON POST on every vote, promotion and failed build, retried until they
   * answer (for three days), so a receiver that is down loses nothing.
   */
  webhookUrls: {
    key: 'webhook_urls',
    parse: (raw: string) => {
      const urls = parseList(raw);
      for (const url of urls) {
        let parsed: URL;
        try {
          parsed = new URL(url);
        } catch {
          throw new OptionValueError(`"${url}" is not a URL`);
        }
        if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
          throw new OptionValueError(`"${url}" is not an http or https URL`);
      }
      return urls;
    },
    default: [],
  } as OptionSpec<string[]>,
  /** New: when set, each webhook carries `X-DLRN-Signature: sha256=<HMAC of the body>`. */
  webhookSecret: str('webhook_secret'),
  /**
   * New: the reverse proxies in front of the API (addresses or CIDR blocks, IPv4 or IPv6). Only a
   * connection from one of them may name the client in X-Forwarded-For; any other client is its
   * connection's address, so it cannot pick the address its failed passwords count against.
   */
  trustedProxies: {
    key: 'trusted_proxies',
    parse: (raw: string) => {
      const entries = parseList(raw);
      for (const entry of entries) {
        const [address = '', bits, extra] = entry.split('/');
        const family = isIP(address);
        const maxBits = family === 6 ? 128 : 32;
        if (
          family === 0 ||
          extra !== undefined ||
          (bits !== undefined && !/^\d+$/.test(bits)) ||
          Number(bits) > maxBits
        )
          throw new OptionValueError(`"${entry}" is not an IP address or a CIDR block (10.0.0.0/8)`);
      }
      return entries;
    },
    default: [],
  } as OptionSpec<string[]>,
  /**
   * New: how long `repo_status`, `agg_status`, `last_tested_repo` and `promotions` answers are
   * kept (api/read-cache.ts); this API's own writes drop them at once. 0: off.
   */
  readCacheMs: int('read_cache_ms', 1_000, 0),
  /** New: request bodies larger than this many bytes are refused with 413. */
  maxBodyBytes: int('max_body_bytes', 1_048_576, 1),
  /** New: GraphQL queries deeper, with more aliases, or costing more (api/graphql-limits.ts) get 400. */
  graphqlMaxDepth: int('graphql_max_depth', 8, 1),
  graphqlMaxAliases: int('graphql_max_aliases', 30, 0),
  graphqlMaxCost: int('graphql_max_cost', 25_000, 1),
} satisfies SectionSpec;
