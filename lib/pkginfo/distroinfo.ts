/**
 * Reads package metadata in the distroinfo/rdoinfo format (rdo.yml and the files it imports)
 * exactly as the `distroinfo` library DLRN uses does (distroinfo 0.6.3: fetch.py, parse.py,
 * query.py), then filters it as DLRN's rdoinfo and downstream drivers do:
 *
 * 1. Files are loaded as PyYAML loads them (py-values.ts), each followed depth-first by its
 *    imports; a file may be imported many times, but never by itself.
 * 2. One file is used as written (a project listed twice is an error). Several are merged left
 *    to right: in each, `packages` becomes a mapping by `project` and `releases` one by `name`
 *    (repeats within a file merged), then mappings merge key by key, lists are appended, and a
 *    null (an empty value) keeps what was there, or puts the key there as null when it was not.
 *    That last rule is what keeps every release of `tags: {flamingo: }` across RDO's one file
 *    per release. A file whose `packages` is an empty list empties the list so far.
 * 3. Each package is `package-default`, then its `conf` template, then its own keys, then the
 *    applied tag's keys when the tag's value is a mapping; then every string value is filled
 *    once with Python's `%` against that dict (`%(project)s`).
 * 4. With `tags=` set, only packages carrying a tag that matches it as a regular expression
 *    stay (query.filter_pkgs; `~` negates); then the same for the downstream tag.
 *
 * distroinfo's refusal of a repository without a `releases` section is not kept: DLRN does not
 * read releases, and a site without them builds here.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError } from '../domain/errors.ts';
import type { CommitType, PackageInfo, PackageList } from '../domain/packages.ts';
import {
  isDict,
  isList,
  pyDeepCopy,
  pyFormat,
  pyIn,
  PyError,
  PyKeyError,
  pyRepr,
  pyStr,
  PyTimestamp,
  pyTruthy,
  pyType,
  pyUpdate,
  type PyDict,
  type PyScalar,
  type PyValue,
} from './py-values.ts';
import { loadPyYaml } from './pyyaml-load.ts';

/** Imports nest at most this deep (distroinfo would hit Python's recursion limit). */
const MAX_IMPORT_DEPTH = 64;

/** One loaded info file: its name as imported, and its mapping. */
export interface InfoFile {
  file: string;
  data: PyDict;
}

const readInfoFile = async (root: string, file: string): Promise<PyDict> => {
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
  let data: PyValue;
  try {
    data = loadPyYaml(text, `info file ${path}`);
  } catch (err) {
    throw new InputError((err as Error).message, { cause: err });
  }
  if (!isDict(data)) {
    throw new InputError(
      `info file ${path} must hold a YAML mapping, not ${data === null ? 'nothing' : pyType(data)}`,
    );
  }
  return data;
};

/** The file names an `import` value lists (distroinfo iterates it: a list, or a mapping's keys). */
const importsOf = (data: PyDict, file: string): string[] => {
  const imports = data.get('import');
  if (!pyTruthy(imports)) return [];
  const entries = isList(imports) ? imports : isDict(imports) ? [...imports.keys()] : null;
  if (!entries) throw new InputError(`"import" in info file ${file} must be a list of files`);
  return entries.map((entry) => {
    if (isDict(entry))
      throw new InputError(
        `info file ${file} imports ${pyRepr(entry)}: remote-info imports are not supported`,
      );
    if (typeof entry !== 'string')
      throw new InputError(`info file ${file} imports ${pyRepr(entry)}: expected a file name`);
    return entry;
  });
};

/** The info files and their imports, depth-first, as distroinfo's fetcher lists them. */
export const fetchInfo = async (
  root: string,
  files: readonly string[],
  ancestors: readonly string[] = [],
): Promise<InfoFile[]> => {
  const out: InfoFile[] = [];
  for (const file of files) {
    if (ancestors.includes(file)) {
      throw new InputError(`circular info import: ${[...ancestors, file].join(' imports ')}`);
    }
    if (ancestors.length >= MAX_IMPORT_DEPTH) {
      throw new InputError(`info imports nest deeper than ${MAX_IMPORT_DEPTH}: ${ancestors.join(' -> ')}`);
    }
    const data = await readInfoFile(root, file);
    out.push({ file, data });
    out.push(...(await fetchInfo(root, importsOf(data, file), [...ancestors, file])));
  }
  return out;
};

/**
 * distroinfo's `_merge`: mappings key by key, lists appended, null keeps the left value. It
 * never changes its inputs; `owned` names the mappings and lists a fold made itself, which it
 * may extend in place instead of copying again (a fold over RDO's 120 files would otherwise
 * copy every package once per file).
 */
export const mergeValues = (a: PyValue, b: PyValue, owned = new WeakSet<object>()): PyValue => {
  if (isDict(a) && isDict(b)) {
    const out: PyDict = owned.has(a) ? a : new Map(a);
    owned.add(out);
    for (const [key, value] of b)
      out.set(key, mergeValues(out.has(key) ? (out.get(key) ?? null) : null, value, owned));
    return out;
  }
  if (isList(a) && isList(b)) {
    if (!owned.has(a)) {
      const out = [...a, ...b];
      owned.add(out);
      return out;
    }
    for (const item of b) a.push(item);
    return a;
  }
  return b === null ? a : b;
};

const hashable = (value: PyValue, what: string): PyScalar => {
  if (isList(value) || isDict(value))
    throw new InputError(`${what} is a ${pyType(value)}, which cannot name it`);
  return value;
};

/** distroinfo's `list2dict`: items keyed by `key`, repeats merged into the first. */
const byKey = (items: PyValue, key: string, file: string, owned: WeakSet<object>): PyDict => {
  if (!isList(items))
    throw new InputError(
      `"${key === 'project' ? 'packages' : 'releases'}" in info file ${file} must be a list`,
    );
  const out: PyDict = new Map();
  for (const item of items) {
    if (!isDict(item))
      throw new InputError(
        `info file ${file}: an entry of its list is ${pyType(item)} ${pyRepr(item)}, not a mapping`,
      );
    const id = hashable(item.has(key) ? (item.get(key) ?? null) : null, `the ${key} of ${pyRepr(item)}`);
    const seen = out.get(id);
    out.set(id, seen === undefined ? item : mergeValues(seen, item, owned));
  }
  return out;
};

/** distroinfo's `info2dicts` on one file. */
const asDicts = ({ file, data }: InfoFile, owned: WeakSet<object>): PyDict => {
  if (!data.has('packages') && !data.has('releases')) return data;
  const out: PyDict = new Map(data);
  const packages = data.get('packages') ?? null;
  if (pyTruthy(packages)) out.set('packages', byKey(packages, 'project', file, owned));
  const releases = data.get('releases') ?? null;
  if (pyTruthy(releases)) out.set('releases', byKey(releases, 'name', file, owned));
  return out;
};

/** distroinfo's `merge_infos`: the loaded files as one info mapping, packages as a list. */
export const mergeInfos = (files: readonly InfoFile[]): PyDict => {
  const [first, ...rest] = files;
  if (!first) return new Map();
  if (rest.length === 0) return first.data;
  const owned = new WeakSet<object>();
  let merged = asDicts(first, owned);
  for (const next of rest) merged = mergeValues(merged, asDicts(next, owned), owned) as PyDict;
  if (!merged.has('packages') && !merged.has('releases')) return merged;
  const out: PyDict = new Map(merged);
  for (const key of ['packages', 'releases']) {
    const value = merged.get(key) ?? null;
    if (isDict(value) && value.size > 0) out.set(key, [...value.values()]);
  }
  return out;
};

/** Names the files that list each project, for messages about a merged package. */
const originsOf = (files: readonly InfoFile[]): Map<PyScalar, string[]> => {
  const out = new Map<PyScalar, string[]>();
  for (const { file, data } of files) {
    const packages = data.get('packages');
    for (const pkg of isList(packages) ? packages : []) {
      if (!isDict(pkg)) continue;
      const project = pkg.get('project') ?? null;
      if (isList(project) || isDict(project)) continue;
      const seen = out.get(project) ?? [];
      if (!seen.includes(file)) seen.push(file);
      out.set(project, seen);
    }
  }
  return out;
};

/** Iterates a value as Python's `for x in value` does (a mapping's keys, a string's characters). */
const pyIter = (value: PyValue): PyValue[] | null => {
  if (isList(value)) return value;
  if (isDict(value)) return [...value.keys()];
  if (typeof value === 'string') return [...value];
  return null;
};

interface ParseContext {
  info: PyDict;
  tag: string | null;
  origins: Map<PyScalar, string[]>;
}

/** distroinfo's `parse_package`: defaults, conf, the package, the tag, then the templates. */
const parsePackage = (raw: PyValue, ctx: ParseContext): PyDict => {
  const project = isDict(raw) ? (raw.get('project') ?? null) : null;
  const origins = isList(project) || isDict(project) ? undefined : ctx.origins.get(project);
  const where = `package ${pyStr(project)}${origins ? ` (${origins.join(', ')})` : ''}`;
  const fail = (why: string): never => {
    throw new InputError(`${where}: ${why}`);
  };
  if (!isDict(raw)) return fail(`a package must be a mapping, not ${pyType(raw)} ${pyRepr(raw)}`);
  const defaults = ctx.info.has('package-default') ? (ctx.info.get('package-default') ?? null) : new Map();
  if (!isDict(defaults)) return fail(`package-default must be a mapping, not ${pyType(defaults)}`);
  const pkg = pyDeepCopy(defaults) as PyDict;
  try {
    if (raw.has('conf')) {
      const configs = ctx.info.has('package-configs') ? (ctx.info.get('package-configs') ?? null) : new Map();
      if (!isDict(configs)) return fail(`package-configs must be a mapping, not ${pyType(configs)}`);
      const id = hashable(raw.get('conf') ?? null, 'conf');
      if (!configs.has(id)) return fail(`package config isn't defined: ${pyStr(id)}`);
      pyUpdate(pkg, configs.get(id) ?? null);
    }
    pyUpdate(pkg, raw);
    if (ctx.tag !== null) {
      const tags = pkg.has('tags') ? (pkg.get('tags') ?? null) : new Map();
      if (!isDict(tags)) return fail(`tags must be a mapping to apply tag ${ctx.tag}, not ${pyType(tags)}`);
      const overrides = tags.get(ctx.tag) ?? null;
      if (pyTruthy(overrides)) pyUpdate(pkg, overrides);
    }
  } catch (err) {
    if (err instanceof PyError) return fail(err.message);
    throw err;
  }
  const filled: PyDict = new Map(pkg);
  for (const [key, value] of pkg) {
    if (typeof value !== 'string') continue;
    try {
      filled.set(key, pyFormat(value, pkg));
    } catch (err) {
      if (err instanceof PyKeyError)
        return fail(`substitution failed for string ${pyRepr(value)}: no key ${err.key}`);
      if (err instanceof PyError) return fail(`cannot fill ${pyStr(key)} = ${pyRepr(value)}: ${err.message}`);
      throw err;
    }
  }
  if (!filled.has('name')) return fail('required item missing: name');
  if (!filled.has('project')) return fail('required item missing: project');
  if (!filled.has('maintainers')) return fail('required item missing: maintainers');
  const maintainers = filled.get('maintainers') ?? null;
  if (!pyTruthy(maintainers)) return fail('at least one maintainer is required');
  const each = pyIter(maintainers);
  if (!each) return fail('maintainers must be a list of e-mail addresses');
  for (const maintainer of each) {
    let ok: boolean;
    try {
      ok = pyIn('@', maintainer);
    } catch {
      return fail('maintainers must be a list of e-mail addresses');
    }
    if (!ok) return fail(`${pyRepr(maintainer)} doesn't look like a maintainer's e-mail address`);
  }
  return filled;
};

/** distroinfo's `parse_packages`: every package parsed; a project listed twice is an error. */
export const parsePackages = (info: PyDict, tag: string | null, files: readonly InfoFile[]): PyDict[] => {
  if (!info.has('packages'))
    throw new InputError(`the info files (${files.map((f) => f.file).join(', ')}) have no packages section`);
  const packages = info.get('packages') ?? null;
  if (!isList(packages)) {
    throw new InputError(
      `the packages section of ${files.map((f) => f.file).join(', ')} must be a list, not ${pyType(packages)}`,
    );
  }
  const ctx: ParseContext = { info, tag, origins: originsOf(files) };
  const seen = new Set<PyScalar>();
  return packages.map((raw) => {
    const pkg = parsePackage(raw, ctx);
    const project = pkg.get('project') ?? null;
    if (isList(project) || isDict(project))
      throw new InputError(`project ${pyRepr(project)} must be a single value`);
    if (seen.has(project))
      throw new InputError(
        `project ${pyStr(project)} is listed twice in ${files[0]?.file ?? 'the info file'}`,
      );
    seen.add(project);
    return pkg;
  });
};

/** A Python regular expression as JavaScript reads it (named groups, \A and \Z). */
const pythonRegExp = (pattern: string, option: string): RegExp => {
  let source = pattern
    .replace(/\(\?P<(\w+)>/g, '(?<$1>')
    .replace(/\(\?P=(\w+)\)/g, '\\k<$1>')
    .replace(/\\A/g, '^')
    .replace(/\\Z/g, '$(?![\\s\\S])');
  let flags = '';
  const inline = /^\(\?([aiLmsux]+)\)/.exec(source);
  if (inline) {
    source = source.slice(inline[0].length);
    flags = [...new Set(inline[1])].filter((f) => 'ims'.includes(f)).join('');
  }
  try {
    return new RegExp(source, flags);
  } catch (err) {
    throw new InputError(`${option} = ${pattern}: not a regular expression: ${(err as Error).message}`, {
      cause: err,
    });
  }
};

/** A compiled tag filter: distroinfo's query.filter_pkgs on `tags`, `~` negating. */
export interface TagFilter {
  /** The option it comes from, for messages (`tags`, `downstream_tag`). */
  option: string;
  pattern: string;
  exclude: boolean;
  re: RegExp;
}

export const tagFilter = (option: string, pattern: string): TagFilter => {
  const exclude = pattern.startsWith('~');
  const body = exclude ? pattern.slice(1) : pattern;
  return { option, pattern, exclude, re: pythonRegExp(body, option) };
};

/** The tags of a package as the filter searches them: a string, or the items of a list or keys. */
const tagsOf = (pkg: PyDict, filter: TagFilter): string[] | null => {
  const tags = pkg.get('tags') ?? null;
  if (tags === null) return null;
  if (typeof tags === 'string') return [tags];
  const items = pyIter(tags);
  if (!items) {
    throw new InputError(
      `package ${pyStr(pkg.get('name') ?? null)}: ${filter.option} = ${filter.pattern} can only filter strings, but its tags are ${pyType(tags)}`,
    );
  }
  return items.map((item) => {
    if (typeof item !== 'string') {
      throw new InputError(
        `package ${pyStr(pkg.get('name') ?? null)}: tag ${pyRepr(item)} is a ${pyType(item)}, not a string, so ${filter.option} cannot match it`,
      );
    }
    return item;
  });
};

/** Whether a package passes the filter (a package without tags never does). */
export const passesTagFilter = (pkg: PyDict, filter: TagFilter): boolean => {
  const tags = tagsOf(pkg, filter);
  if (tags === null) return false;
  const found = tags.some((tag) => filter.re.test(tag));
  return filter.exclude ? !found : found;
};

/** The distinct tags the packages carry, sorted. */
const knownTags = (packages: readonly PyDict[]): string[] => {
  const out = new Set<string>();
  for (const pkg of packages) {
    const tags = pkg.get('tags') ?? null;
    const items = typeof tags === 'string' ? [tags] : tags === null ? [] : (pyIter(tags) ?? []);
    for (const item of items) if (typeof item === 'string') out.add(item);
  }
  return [...out].sort();
};

/** A warning when no package carries a tag the filter names (a typo in `tags=` builds nothing). */
const unmatchedTagWarning = (
  packages: readonly PyDict[],
  filter: TagFilter,
  files: readonly string[],
): string | null => {
  const carried = packages.some((pkg) => (tagsOf(pkg, filter) ?? []).some((tag) => filter.re.test(tag)));
  if (carried) return null;
  const known = knownTags(packages);
  const tag = filter.exclude ? filter.pattern.slice(1) : filter.pattern;
  return `${filter.option}=${filter.pattern}: no package in ${files.join(', ')} carries the tag ${tag}; ${
    known.length > 0 ? `the tags there are ${known.join(', ')}` : 'no package there has tags'
  }`;
};

/** What a read of the info files gives: the packages DLRN would build, and what to tell a person. */
export interface InfoPackages {
  /** The expanded package dicts, in order, after the tag filters. */
  packages: PyDict[];
  warnings: string[];
}

/**
 * The packages of an info repository as DLRN's rdoinfo driver lists them (and, with a
 * downstream tag, the downstream driver): the tag applied, then only packages carrying it.
 */
export const listInfoPackages = async (
  root: string,
  infoFiles: readonly string[],
  tag: string | null,
  downstreamTag: string | null = null,
): Promise<InfoPackages> => {
  const files = await fetchInfo(root, infoFiles);
  const activeTag = tag && tag.trim() !== '' ? tag : null;
  const all = parsePackages(mergeInfos(files), activeTag, files);
  const warnings: string[] = [];
  let packages = all;
  for (const [option, pattern] of [
    ['tags', activeTag],
    ['downstream_tag', downstreamTag],
  ] as const) {
    if (!pattern) continue;
    const filter = tagFilter(option, pattern);
    const warning = unmatchedTagWarning(all, filter, infoFiles);
    if (warning) warnings.push(warning);
    packages = packages.filter((pkg) => passesTagFilter(pkg, filter));
  }
  return { packages, warnings };
};

/** A value as JSON carries it, dict keys and dates as Python's str() prints them. */
export const toPlain = (value: PyValue): unknown => {
  if (isDict(value)) return Object.fromEntries([...value].map(([k, v]) => [pyStr(k), toPlain(v)]));
  if (isList(value)) return value.map(toPlain);
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof PyTimestamp) return value.text;
  if (typeof value === 'number' && !Number.isFinite(value)) return pyStr(value);
  return value;
};

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

/** str() of a key's value when the key is there and not null, as the driver reads it. */
const field = (pkg: PyDict, key: string): string | undefined => {
  const value = pkg.get(key) ?? null;
  return value === null ? undefined : pyStr(value);
};

/** DLRN's buildtagsonly(): `build-tags-only` among the tags, or a key of the package. */
const buildTagsOnly = (pkg: PyDict): boolean => {
  const tags = pkg.get('tags') ?? null;
  if (pkg.has('build-tags-only')) return true;
  if (tags === null) return false;
  try {
    return pyIn('build-tags-only', tags);
  } catch {
    return false;
  }
};

/** The package dict DLRN uses, typed. */
export const toPackageInfo = (pkg: PyDict): PackageInfo => {
  const upstream = pkg.get('upstream') ?? null;
  const maintainers = pkg.get('maintainers') ?? null;
  const types = pkg.has('types') ? (pkg.get('types') ?? null) : ['rpm'];
  if (!isList(types)) {
    throw new InputError(
      `package ${pyStr(pkg.get('name') ?? null)}: types must be a list, not ${pyType(types)}`,
    );
  }
  const info: PackageInfo = {
    name: pyStr(pkg.get('name') ?? null),
    project: pyStr(pkg.get('project') ?? null),
    upstream: isList(upstream) ? upstream.map(pyStr) : upstream === null ? 'Unknown' : pyStr(upstream),
    masterDistgit: field(pkg, 'master-distgit') ?? '',
    maintainers: (pyIter(maintainers ?? []) ?? []).map(pyStr),
    types: types.map(pyStr) as CommitType[],
    buildTagsOnly: buildTagsOnly(pkg),
    extra: {},
  };
  const optional = {
    distroBranch: field(pkg, 'distro-branch'),
    sourceBranch: field(pkg, 'source-branch'),
    distgitPath: field(pkg, 'distgit-path'),
    component: field(pkg, 'component'),
    versionFrom: field(pkg, 'version-from'),
  };
  for (const [key, value] of Object.entries(optional))
    if (value !== undefined) Object.assign(info, { [key]: value });
  for (const [key, value] of pkg) {
    if (typeof key !== 'string' || KNOWN_KEYS.has(key) || value === null || isList(value) || isDict(value))
      continue;
    info.extra[key] = pyStr(value);
  }
  return info;
};

/** {@link listInfoPackages}, typed as the drivers hand packages on. */
export const readPackages = async (
  root: string,
  infoFiles: readonly string[],
  tag: string | null,
  downstreamTag: string | null = null,
): Promise<PackageList> => {
  const { packages, warnings } = await listInfoPackages(root, infoFiles, tag, downstreamTag);
  return { packages: packages.map(toPackageInfo), warnings };
};

/** Where the first info file lives, for `DLRN_DISTROINFO_REPO`. */
export const distroinfoPath = (root: string, infoFiles: readonly string[]): string =>
  join(root, infoFiles[0] ?? 'rdo.yml');
