/**
 * Reads package metadata in the distroinfo/rdoinfo format (rdo.yml and the files it imports),
 * with the semantics of the `distroinfo` library DLRN uses: imports loaded depth-first and
 * merged left to right, packages expanded from `package-default` < `conf` < the package < the
 * applied tag, top-level strings filled once from `%(key)s` templates, tags matched as regexes.
 * YAML is read with YAML 1.1 rules, as PyYAML does.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { InputError } from '../domain/errors.ts';
import type { CommitType, PackageInfo } from '../domain/packages.ts';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type RawMap = Record<string, Json>;

const isMap = (value: unknown): value is RawMap =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A YAML value as text: scalars as Python's str() would print them, structures as JSON. */
const text = (value: Json | undefined): string => {
  if (value === undefined || value === null) return '';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  return JSON.stringify(value);
};

/** Merge rule of distroinfo: maps key by key, lists appended, a later null keeps the earlier value. */
const merge = (a: Json | undefined, b: Json | undefined): Json | undefined => {
  if (b === null || b === undefined) return a;
  if (isMap(a) && isMap(b)) {
    const out: RawMap = { ...a };
    for (const [key, value] of Object.entries(b)) {
      const merged = merge(out[key], value);
      if (merged !== undefined) out[key] = merged;
    }
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  return b;
};

const loadYaml = async (root: string, file: string): Promise<RawMap> => {
  const path = resolve(root, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(
      `cannot read info file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      { cause: err },
    );
  }
  let doc: unknown;
  try {
    doc = parse(text, { version: '1.1' });
  } catch (err) {
    throw new InputError(`info file ${path} is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  if (!isMap(doc)) throw new InputError(`info file ${path} does not hold a YAML mapping`);
  return doc;
};

/** The info file and its imports, depth-first, as one flat list. */
const loadWithImports = async (root: string, file: string, chain: string[]): Promise<RawMap[]> => {
  if (chain.includes(file))
    throw new InputError(`info file ${file} imports itself through ${chain.join(' -> ')}`);
  const doc = await loadYaml(root, file);
  const out = [doc];
  const imports = doc.import;
  if (imports === undefined || imports === null) return out;
  if (!Array.isArray(imports)) throw new InputError(`"import" in info file ${file} must be a list of files`);
  for (const entry of imports) {
    if (typeof entry !== 'string') {
      throw new InputError(
        `info file ${file} imports ${JSON.stringify(entry)}: remote-info imports are not supported`,
      );
    }
    out.push(...(await loadWithImports(root, entry, [...chain, file])));
  }
  return out;
};

const keyed = (items: Json | undefined, key: string): Map<string, RawMap> => {
  const out = new Map<string, RawMap>();
  for (const item of Array.isArray(items) ? items : []) {
    if (!isMap(item)) continue;
    const id = text(item[key]);
    out.set(id, (merge(out.get(id), item) as RawMap | undefined) ?? item);
  }
  return out;
};

/** Loads and merges the info files (relative to `root`), imports included. */
export const loadInfo = async (root: string, infoFiles: readonly string[]): Promise<RawMap> => {
  const docs: RawMap[] = [];
  for (const file of infoFiles) docs.push(...(await loadWithImports(root, file, [])));
  if (docs.length === 1) {
    const only = docs[0] ?? {};
    const seen = new Set<string>();
    for (const pkg of Array.isArray(only.packages) ? only.packages : []) {
      const project = isMap(pkg) ? text(pkg.project) : '';
      if (seen.has(project)) throw new InputError(`project ${project} is listed twice in ${infoFiles[0]}`);
      seen.add(project);
    }
    return only;
  }
  let merged: RawMap = {};
  const packages: Map<string, RawMap>[] = [];
  for (const doc of docs) {
    const { packages: pkgs, ...rest } = doc;
    merged = (merge(merged, rest) as RawMap | undefined) ?? merged;
    packages.push(keyed(pkgs, 'project'));
  }
  let all = new Map<string, RawMap>();
  for (const [index, map] of packages.entries()) {
    // A file with `packages: []` replaces the list, as distroinfo's merge of empty lists does.
    const raw = docs[index]?.packages;
    if (Array.isArray(raw) && raw.length === 0) all = new Map();
    for (const [project, pkg] of map)
      all.set(project, (merge(all.get(project), pkg) as RawMap | undefined) ?? pkg);
  }
  return { ...merged, packages: [...all.values()] };
};

/** Python `%`-formatting with named fields only, as distroinfo fills templates. */
const substitute = (template: string, values: RawMap, project: string): string =>
  template.replace(
    /%(?:\((\w[\w-]*)\)s|(%))/g,
    (match, key: string | undefined, percent: string | undefined) => {
      if (percent) return '%';
      const value = values[key ?? ''];
      if (value === undefined)
        throw new InputError(`package ${project}: template "${template}" uses %(${key})s, which is not set`);
      return text(value);
    },
  );

/** One package expanded as distroinfo's parse_package does, with `tag` applied when given. */
export const expandPackage = (raw: RawMap, info: RawMap, tag: string | null): RawMap => {
  const defaults = isMap(info['package-default']) ? info['package-default'] : {};
  const configs = isMap(info['package-configs']) ? info['package-configs'] : {};
  const project = text(raw.project ?? raw.name ?? '?');
  let pkg: RawMap = structuredClone(defaults);
  if (raw.conf !== undefined && raw.conf !== null) {
    if (typeof raw.conf !== 'string')
      throw new InputError(`package ${project}: "conf" must name one package config`);
    const conf = configs[raw.conf];
    if (!isMap(conf)) throw new InputError(`package ${project}: package config "${raw.conf}" is not defined`);
    pkg = { ...pkg, ...structuredClone(conf) };
  }
  pkg = { ...pkg, ...structuredClone(raw) };
  if (tag) {
    if (pkg.tags !== undefined && pkg.tags !== null && !isMap(pkg.tags)) {
      throw new InputError(`package ${project}: "tags" must be a mapping`);
    }
    const overrides = isMap(pkg.tags) ? pkg.tags[tag] : undefined;
    if (isMap(overrides)) pkg = { ...pkg, ...overrides };
  }
  const before = pkg;
  const out: RawMap = {};
  for (const [key, value] of Object.entries(pkg))
    out[key] = typeof value === 'string' ? substitute(value, before, project) : value;
  if (typeof out.name !== 'string' || out.project === undefined) {
    throw new InputError(`package ${project}: "name" and "project" are required`);
  }
  const maintainers = out.maintainers;
  if (
    !Array.isArray(maintainers) ||
    maintainers.length === 0 ||
    !maintainers.every((m) => typeof m === 'string' && m.includes('@'))
  ) {
    throw new InputError(`package ${project}: "maintainers" must be a non-empty list of e-mail addresses`);
  }
  return out;
};

/** distroinfo's query filter: a regex search over a string, or over the keys/items of a map or list. */
const matchesTag = (pkg: RawMap, pattern: string): boolean => {
  const tags = pkg.tags;
  const re = new RegExp(pattern);
  if (typeof tags === 'string') return re.test(tags);
  if (Array.isArray(tags)) return tags.some((t) => re.test(text(t)));
  if (isMap(tags)) return Object.keys(tags).some((t) => re.test(t));
  return false;
};

const str = (value: Json | undefined): string | undefined =>
  value === undefined || value === null ? undefined : text(value);

const KNOWN_KEYS = new Set([
  'name',
  'project',
  'upstream',
  'master-distgit',
  'maintainers',
  'distro-branch',
  'source-branch',
  'distgit-path',
  'component',
  'build-tags-only',
  'version-from',
  'types',
  'tags',
  'conf',
]);

/** The package dict DLRN uses, typed. */
const toPackageInfo = (pkg: RawMap): PackageInfo => {
  const upstream = pkg.upstream;
  const tags = pkg.tags;
  const info: PackageInfo = {
    name: text(pkg.name),
    project: str(pkg.project) ?? text(pkg.name),
    upstream: Array.isArray(upstream) ? upstream.map(text) : (str(upstream) ?? 'Unknown'),
    masterDistgit: str(pkg['master-distgit']) ?? '',
    maintainers: Array.isArray(pkg.maintainers) ? pkg.maintainers.map(text) : [],
    types: (Array.isArray(pkg.types) ? pkg.types.map(text) : ['rpm']) as CommitType[],
    buildTagsOnly: (isMap(tags) && 'build-tags-only' in tags) || 'build-tags-only' in pkg,
    extra: {},
  };
  const optional = {
    distroBranch: str(pkg['distro-branch']),
    sourceBranch: str(pkg['source-branch']),
    distgitPath: str(pkg['distgit-path']),
    component: str(pkg.component),
    versionFrom: str(pkg['version-from']),
  };
  for (const [key, value] of Object.entries(optional))
    if (value !== undefined) Object.assign(info, { [key]: value });
  for (const [key, value] of Object.entries(pkg)) {
    const text = str(value);
    if (!KNOWN_KEYS.has(key) && text !== undefined && typeof value !== 'object') info.extra[key] = text;
  }
  return info;
};

/**
 * The packages of an info repository as DLRN's rdoinfo driver lists them: the tag applied,
 * then only packages carrying it (every package when `tag` is empty).
 */
export const readPackages = async (
  root: string,
  infoFiles: readonly string[],
  tag: string | null,
  extraTagFilter: string | null = null,
): Promise<PackageInfo[]> => {
  const info = await loadInfo(root, infoFiles);
  const raw = Array.isArray(info.packages) ? info.packages.filter(isMap) : [];
  const activeTag = tag && tag.trim() !== '' ? tag : null;
  return raw
    .map((pkg) => expandPackage(pkg, info, activeTag))
    .filter((pkg) => !activeTag || matchesTag(pkg, activeTag))
    .filter((pkg) => !extraTagFilter || matchesTag(pkg, extraTagFilter))
    .map(toPackageInfo);
};

/** Where the first info file lives, for `DLRN_DISTROINFO_REPO`. */
export const distroinfoPath = (root: string, infoFiles: readonly string[]): string =>
  join(root, infoFiles[0] ?? 'rdo.yml');
