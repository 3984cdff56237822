/**
 * Compares our info reader (lib/pkginfo/distroinfo.ts) with distroinfo itself, the library
 * DLRN uses, on an info repository: for each tag, the packages each lists, in order, every
 * key of every package, and the fields DLRN reads. distroinfo runs from the tools virtualenv
 * (scripts/distroinfo-list.py; scripts/bootstrap.sh installs it).
 *
 *   node --import tsx scripts/distroinfo-compare.ts INFO_REPO [--info-files rdo.yml,...]
 *       [--tags all|TAG,TAG] [--downstream-tag TAG]
 *
 * `--tags all` (the default) compares with no tag and with every tag a package carries.
 * Prints a line per tag with both counts; exits 1 when any listing differs.
 */
import { execFile } from 'node:child_process';
import { isDeepStrictEqual, promisify } from 'node:util';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listInfoPackages, toPackageInfo, toPlain } from '../lib/pkginfo/distroinfo.ts';
import type { PackageInfo } from '../lib/domain/packages.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PYTHON = join(ROOT, '.tools', 'venv', 'bin', 'python');
const REFERENCE = join(ROOT, 'scripts', 'distroinfo-list.py');
const run = promisify(execFile);

/** What DLRN reads of a package, keyed as distroinfo-list.py prints it. */
export type DlrnView = Record<string, unknown>;

/** One side's listing: the packages (whole dicts and DLRN's view), or the error it stopped on. */
export type Listing =
  | { packages: { raw: Record<string, unknown>; dlrn: DlrnView }[] }
  | { error: { type: string; message: string } };

export interface Query {
  infoRepo: string;
  infoFiles: readonly string[];
  tag: string;
  downstreamTag?: string;
}

/** distroinfo's listing, from scripts/distroinfo-list.py. */
export const referenceListing = async (query: Query): Promise<Listing> => {
  const args = [
    REFERENCE,
    '--info-repo',
    query.infoRepo,
    '--info-files',
    query.infoFiles.join(','),
    '--tags',
    query.tag,
    '--downstream-tag',
    query.downstreamTag ?? '',
  ];
  const out = await run(PYTHON, args, { maxBuffer: 256 * 1024 * 1024 }).catch(
    (err: { stdout?: string; message: string }) => {
      if (err.stdout?.startsWith('{')) return { stdout: err.stdout };
      throw new Error(`distroinfo-list.py failed (is the tools virtualenv bootstrapped?): ${err.message}`);
    },
  );
  return JSON.parse(out.stdout) as Listing;
};

const dlrnView = (pkg: PackageInfo): DlrnView => ({
  name: pkg.name,
  project: pkg.project,
  upstream: pkg.upstream,
  'master-distgit': pkg.masterDistgit === '' ? null : pkg.masterDistgit,
  maintainers: pkg.maintainers,
  'distro-branch': pkg.distroBranch ?? null,
  'source-branch': pkg.sourceBranch ?? null,
  'distgit-path': pkg.distgitPath ?? null,
  component: pkg.component ?? null,
  'version-from': pkg.versionFrom ?? null,
  types: pkg.types,
  'build-tags-only': pkg.buildTagsOnly ?? false,
});

/** Our reader's listing, in the same shape. */
export const ourListing = async (query: Query): Promise<Listing> => {
  try {
    const { packages } = await listInfoPackages(
      query.infoRepo,
      query.infoFiles,
      query.tag,
      query.downstreamTag ?? null,
    );
    return {
      packages: packages.map((pkg) => ({
        raw: toPlain(pkg) as Record<string, unknown>,
        dlrn: dlrnView(toPackageInfo(pkg)),
      })),
    };
  } catch (err) {
    return { error: { type: (err as Error).name, message: (err as Error).message } };
  }
};

export interface Comparison {
  query: Query;
  reference: Listing;
  ours: Listing;
  /** Empty when the listings agree: both refuse the input, or every package is equal. */
  differences: string[];
}

const names = (listing: Listing): string[] =>
  'packages' in listing ? listing.packages.map((p) => String(p.raw.name)) : [];

/** The differences between two listings, the first few per kind. */
export const differencesOf = (reference: Listing, ours: Listing): string[] => {
  if ('error' in reference || 'error' in ours) {
    if ('error' in reference && 'error' in ours) return [];
    return 'error' in reference
      ? [
          `distroinfo refuses (${reference.error.type}: ${reference.error.message}); ours lists ${names(ours).length}`,
        ]
      : [
          `ours refuses (${'error' in ours ? ours.error.message : ''}); distroinfo lists ${names(reference).length}`,
        ];
  }
  const out: string[] = [];
  const theirs = names(reference);
  const mine = names(ours);
  if (!isDeepStrictEqual(theirs, mine)) {
    const missing = theirs.filter((n) => !mine.includes(n));
    const extra = mine.filter((n) => !theirs.includes(n));
    out.push(
      `package lists differ: ${theirs.length} vs ${mine.length}; missing here: ${missing.slice(0, 8).join(', ') || '-'}${
        missing.length > 8 ? ` and ${missing.length - 8} more` : ''
      }; extra here: ${extra.slice(0, 8).join(', ') || '-'}${missing.length === 0 && extra.length === 0 ? ' (order differs)' : ''}`,
    );
    return out;
  }
  reference.packages.forEach((theirPkg, index) => {
    const myPkg = ours.packages[index];
    if (!myPkg) return;
    for (const [kind, a, b] of [
      ['key', theirPkg.raw, myPkg.raw],
      ['DLRN field', theirPkg.dlrn, myPkg.dlrn],
    ] as const) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
        if (!isDeepStrictEqual(a[key], b[key]))
          out.push(
            `${theirs[index]}: ${kind} ${key}: distroinfo ${JSON.stringify(a[key])}, ours ${JSON.stringify(b[key])}`,
          );
      }
    }
  });
  return out;
};

/** Both listings of one query, and how they differ. */
export const compareWithDistroinfo = async (query: Query): Promise<Comparison> => {
  const [reference, ours] = await Promise.all([referenceListing(query), ourListing(query)]);
  return { query, reference, ours, differences: differencesOf(reference, ours) };
};

/** Every tag a package of the repository carries (from our unfiltered listing). */
export const tagsOf = async (infoRepo: string, infoFiles: readonly string[]): Promise<string[]> => {
  const { packages } = await listInfoPackages(infoRepo, infoFiles, null);
  const tags = new Set<string>();
  for (const pkg of packages) {
    const value = pkg.get('tags');
    if (value instanceof Map) for (const key of value.keys()) if (typeof key === 'string') tags.add(key);
  }
  return [...tags].sort();
};

const count = (listing: Listing): string =>
  'packages' in listing ? String(listing.packages.length) : `error (${listing.error.type})`;

const main = async (argv: string[]): Promise<number> => {
  const option = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const infoRepo = argv.find((a, i) => !a.startsWith('--') && !argv[i - 1]?.startsWith('--'));
  if (!infoRepo) {
    process.stderr.write('usage: distroinfo-compare.ts INFO_REPO [--info-files F,...] [--tags all|T,...]\n');
    return 2;
  }
  const root = resolve(infoRepo);
  const infoFiles = (option('--info-files') ?? 'rdo.yml').split(',').filter(Boolean);
  const wanted = option('--tags') ?? 'all';
  const tags = wanted === 'all' ? ['', ...(await tagsOf(root, infoFiles))] : wanted.split(',');
  let differing = 0;
  process.stdout.write(
    `${'files'.padEnd(24)} ${'tag'.padEnd(18)} ${'distroinfo'.padStart(10)} ${'ours'.padStart(10)}  result\n`,
  );
  for (const tag of tags) {
    const downstreamTag = option('--downstream-tag');
    const c = await compareWithDistroinfo({
      infoRepo: root,
      infoFiles,
      tag,
      ...(downstreamTag ? { downstreamTag } : {}),
    });
    if (c.differences.length > 0) differing++;
    process.stdout.write(
      `${infoFiles.join(',').padEnd(24)} ${(tag || '(none)').padEnd(18)} ${count(c.reference).padStart(10)} ${count(c.ours).padStart(10)}  ${
        c.differences.length === 0 ? 'identical' : `${c.differences.length} differences`
      }\n`,
    );
    for (const d of c.differences.slice(0, 10)) process.stdout.write(`    ${d}\n`);
  }
  return differing === 0 ? 0 : 1;
};

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(2);
    },
  );
}
