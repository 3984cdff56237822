/**
 * Reads DLRN's `projects.ini` into one plain, typed object. Called once, by cli/ entry points;
 * everything else receives the result. Every problem in the file is collected and reported in
 * one `ConfigError` that names the option, the value and what was expected.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError, type ConfigIssue } from '../domain/errors.ts';
import { DEFAULT_SECTION, iniGet, parseIni, type IniDocument } from './ini.ts';
import {
  apiSection,
  databaseSection,
  promotionsSection,
  gitSection,
  coprSection,
  defaultSection,
  downstreamSection,
  gitrepoSection,
  kojiSection,
  localSection,
  mockSection,
  OptionValueError,
  rdoinfoSection,
  rpmbuildSection,
  temporalSection,
  type SectionSpec,
  type SectionValues,
} from './options.ts';

import { PROJECT_ROOT } from '../paths.ts';

export { PROJECT_ROOT };

const PKGINFO_DRIVERS = {
  rdoinfo: {
    className: 'dlrn.drivers.rdoinfo.RdoInfoDriver',
    section: 'rdoinfo_driver',
    spec: rdoinfoSection,
  },
  downstream: {
    className: 'dlrn.drivers.downstream.DownstreamInfoDriver',
    section: 'downstream_driver',
    spec: downstreamSection,
  },
  gitrepo: {
    className: 'dlrn.drivers.gitrepo.GitRepoDriver',
    section: 'gitrepo_driver',
    spec: gitrepoSection,
  },
  local: { className: 'dlrn.drivers.local.LocalDriver', section: 'local_driver', spec: localSection },
} as const;

const BUILD_DRIVERS = {
  mock: {
    className: 'dlrn.drivers.mockdriver.MockBuildDriver',
    section: 'mockbuild_driver',
    spec: mockSection,
  },
  koji: {
    className: 'dlrn.drivers.kojidriver.KojiBuildDriver',
    section: 'kojibuild_driver',
    spec: kojiSection,
  },
  copr: {
    className: 'dlrn.drivers.coprdriver.CoprBuildDriver',
    section: 'coprbuild_driver',
    spec: coprSection,
  },
  /** Ours: `rpmbuild --rebuild` on the worker itself, for hosts without mock (Debian). */
  rpmbuild: {
    className: 'dlrn_temporal.drivers.rpmbuild.RpmbuildDriver',
    section: 'rpmbuild_driver',
    spec: rpmbuildSection,
  },
} as const;

export type PkginfoDriverName = keyof typeof PKGINFO_DRIVERS;
export type BuildDriverName = keyof typeof BUILD_DRIVERS;

type DriverConfig<T extends Record<string, { spec: SectionSpec }>> = {
  [K in keyof T]: { name: K; className: string; options: SectionValues<T[K]['spec']> };
}[keyof T];

export type PkginfoConfig = DriverConfig<typeof PKGINFO_DRIVERS>;
export type BuildConfig = DriverConfig<typeof BUILD_DRIVERS>;

export type DefaultOptions = Omit<
  SectionValues<typeof defaultSection>,
  'datadir' | 'scriptsdir' | 'configdir' | 'templatedir'
> & {
  /** Absolute: clones, mock configs and `repos/` live here. */
  datadir: string;
  scriptsdir: string;
  /** Where `<target>.cfg` is; `scriptsdir` when unset, as in DLRN. */
  configdir: string;
  templatedir: string;
};

export interface DlrnConfig {
  /** The file read, absolute; undefined when built from text. */
  file?: string;
  default: DefaultOptions;
  pkginfo: PkginfoConfig;
  build: BuildConfig;
  temporal: SectionValues<typeof temporalSection>;
  git: SectionValues<typeof gitSection>;
  database: SectionValues<typeof databaseSection>;
  api: SectionValues<typeof apiSection>;
  promotions: SectionValues<typeof promotionsSection>;
}

interface LoadOptions {
  /** `--config-override section.option=value` rules, applied before parsing, in order. */
  overrides?: readonly string[];
  /** Base for relative paths (DLRN resolves them against the working directory). */
  cwd?: string;
}

/** Known sections: an override may name them even when the file does not. */
const KNOWN_SECTIONS: Record<string, SectionSpec> = {
  [DEFAULT_SECTION]: defaultSection,
  temporal: temporalSection,
  git: gitSection,
  database: databaseSection,
  api: apiSection,
  promotions: promotionsSection,
  ...Object.fromEntries(Object.values(PKGINFO_DRIVERS).map((d) => [d.section, d.spec])),
  ...Object.fromEntries(Object.values(BUILD_DRIVERS).map((d) => [d.section, d.spec])),
};

const OVERRIDE_RE = /^(?<section>\w+)\.(?<key>\w+)=(?<value>.*)$/s;

/**
 * Applies `--config-override` rules to a parsed file, as DLRN does before reading options:
 * the option must exist in the section (DEFAULT options count everywhere). Unlike DLRN, which
 * silently drops rules whose value is not `\w+` or whose section is missing from the file, any
 * value is accepted, a known section may be added, and every other rule is an error.
 */
const applyOverrides = (doc: IniDocument, rules: readonly string[]): ConfigIssue[] => {
  const issues: ConfigIssue[] = [];
  for (const rule of rules) {
    const groups = OVERRIDE_RE.exec(rule)?.groups;
    if (!groups) {
      issues.push({ where: rule, message: `--config-override "${rule}": expected section.option=value` });
      continue;
    }
    const section = groups.section ?? '';
    const key = (groups.key ?? '').toLowerCase();
    const value = groups.value ?? '';
    const spec = KNOWN_SECTIONS[section];
    const inFile = section === DEFAULT_SECTION || doc.sections.has(section);
    const known =
      iniGet(doc, section, key) !== undefined ||
      Object.values(spec ?? {}).some((option) => option.key === key) ||
      Object.values(defaultSection).some((option) => option.key === key);
    if (!inFile && !spec) {
      issues.push({
        where: rule,
        message: `--config-override "${rule}": section [${section}] is neither in the file nor a DLRN section`,
      });
    } else if (!known) {
      issues.push({
        where: `${section}.${key}`,
        message: `--config-override "${rule}": Unknown config option ${section}.${key}`,
      });
    } else if (section === DEFAULT_SECTION) {
      doc.defaults.set(key, value);
    } else {
      const options = doc.sections.get(section) ?? new Map<string, string>();
      options.set(key, value);
      doc.sections.set(section, options);
    }
  }
  return issues;
};

const readSection = <S extends SectionSpec>(
  doc: IniDocument,
  section: string,
  spec: S,
  issues: ConfigIssue[],
): SectionValues<S> => {
  const values: Record<string, unknown> = {};
  for (const [attr, option] of Object.entries(spec)) {
    const raw = iniGet(doc, section, option.key);
    values[attr] = option.default;
    if (raw === undefined || (option.required && raw.trim() === '')) {
      if (option.required) {
        issues.push({
          where: `${section}.${option.key}`,
          message: `[${section}] ${option.key} is required by the selected driver and is not set`,
        });
      }
      continue;
    }
    try {
      values[attr] = option.parse(raw);
    } catch (err) {
      if (!(err instanceof OptionValueError)) throw err;
      issues.push({
        where: `${section}.${option.key}`,
        message: `[${section}] ${option.key} = "${raw}": ${err.message}`,
      });
    }
  }
  return values as SectionValues<S>;
};

/** Finds a driver by DLRN class path or by our short name. */
const findDriver = <T extends Record<string, { className: string }>>(
  drivers: T,
  configured: string,
): keyof T | undefined => {
  const value = configured.trim();
  return (Object.keys(drivers) as (keyof T & string)[]).find(
    (name) => name === value || drivers[name]?.className === value,
  );
};

const driverIssue = (
  option: string,
  value: string,
  drivers: Record<string, { className: string }>,
): ConfigIssue => ({
  where: `${DEFAULT_SECTION}.${option}`,
  message: `[DEFAULT] ${option} = "${value}": unknown driver; expected one of ${Object.values(drivers)
    .map((d) => d.className)
    .join(', ')} (or ${Object.keys(drivers).join(', ')})`,
});

/** Parses projects.ini text. Throws one ConfigError listing every problem. */
export const parseConfig = (text: string, options: LoadOptions & { file?: string } = {}): DlrnConfig => {
  const source = options.file ?? '<projects.ini>';
  const cwd = options.cwd ?? process.cwd();
  const { doc, issues } = parseIni(text, source);
  issues.push(...applyOverrides(doc, options.overrides ?? []));

  const defaults = readSection(doc, DEFAULT_SECTION, defaultSection, issues);
  const pkginfoName = findDriver(PKGINFO_DRIVERS, defaults.pkginfoDriver);
  if (!pkginfoName) issues.push(driverIssue('pkginfo_driver', defaults.pkginfoDriver, PKGINFO_DRIVERS));
  const buildName = findDriver(BUILD_DRIVERS, defaults.buildDriver);
  if (!buildName) issues.push(driverIssue('build_driver', defaults.buildDriver, BUILD_DRIVERS));

  const pkginfoDriver = PKGINFO_DRIVERS[pkginfoName ?? 'local'];
  const buildDriver = BUILD_DRIVERS[buildName ?? 'rpmbuild'];
  const pkginfo = {
    name: pkginfoName ?? 'local',
    className: pkginfoDriver.className,
    options: readSection(doc, pkginfoDriver.section, pkginfoDriver.spec as SectionSpec, issues),
  } as PkginfoConfig;
  const build = {
    name: buildName ?? 'rpmbuild',
    className: buildDriver.className,
    options: readSection(doc, buildDriver.section, buildDriver.spec as SectionSpec, issues),
  } as BuildConfig;
  const temporal = readSection(doc, 'temporal', temporalSection, issues);
  const git = readSection(doc, 'git', gitSection, issues);
  const database = readSection(doc, 'database', databaseSection, issues);
  const api = readSection(doc, 'api', apiSection, issues);
  const promotions = readSection(doc, 'promotions', promotionsSection, issues);

  if (issues.length > 0) throw new ConfigError(issues, source);

  const path = (value: string | null, fallback: string): string =>
    value === null || value.trim() === '' ? fallback : resolve(cwd, value);
  const scriptsdir = path(defaults.scriptsdir, resolve(PROJECT_ROOT, 'scripts'));
  return {
    ...(options.file === undefined ? {} : { file: options.file }),
    default: {
      ...defaults,
      datadir: path(defaults.datadir, resolve(PROJECT_ROOT, 'data')),
      scriptsdir,
      configdir: path(defaults.configdir, scriptsdir),
      templatedir: path(defaults.templatedir, resolve(PROJECT_ROOT, 'templates')),
    },
    pkginfo,
    build,
    temporal,
    git,
    database,
    api,
    promotions: {
      criteriaFile: promotions.criteriaFile?.trim() ? resolve(cwd, promotions.criteriaFile) : null,
    },
  };
};

/** Reads and parses a projects.ini file. A missing file is a ConfigError naming the path. */
export const loadConfig = async (file: string, options: LoadOptions = {}): Promise<DlrnConfig> => {
  const absolute = resolve(options.cwd ?? process.cwd(), file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (err) {
    throw new ConfigError(
      [
        {
          where: absolute,
          message: `cannot read ${absolute}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        },
      ],
      absolute,
      { cause: err },
    );
  }
  return parseConfig(text, { ...options, file: absolute });
};
