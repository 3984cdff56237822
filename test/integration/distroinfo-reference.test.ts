/**
 * Our info reader against distroinfo itself (the Python library DLRN reads rdoinfo with, run
 * from the tools virtualenv by scripts/distroinfo-list.py): the same packages, in the same
 * order, every key of every package and every field DLRN reads, on a generated repository
 * shaped like RDO's (test/helpers/rdo-shaped-info.ts) for every tag it carries, and on the odd
 * shapes distroinfo accepts or refuses. The Python operations the reader imitates (float
 * printing, `%` templates, PyYAML's scalars) are checked against Python too.
 */
import test from 'ava';
import fc from 'fast-check';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  compareWithDistroinfo,
  tagsOf,
  type Comparison,
  type Query,
} from '../../scripts/distroinfo-compare.ts';
import { pyFloat, pyFormat, pyStr, pyType, type PyValue } from '../../lib/pkginfo/py-values.ts';
import { loadPyYaml } from '../../lib/pkginfo/pyyaml-load.ts';
import { RELEASES, writeRdoShapedInfo } from '../helpers/rdo-shaped-info.ts';

const PYTHON = fileURLToPath(new URL('../../.tools/venv/bin/python', import.meta.url));

let dir: string;
let rdo: string;
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dlrnt-distroinfo-ref-'));
  rdo = join(dir, 'rdo');
  await writeRdoShapedInfo(rdo);
});
test.after.always(async () => {
  await rm(dir, { recursive: true, force: true });
});

const count = (c: Comparison, side: 'reference' | 'ours'): number | string => {
  const listing = c[side];
  return 'packages' in listing ? listing.packages.length : `refused: ${listing.error.message}`;
};

/** Compares every query; the message lists each differing one with its first differences. */
const compareAll = async (queries: Query[]): Promise<Comparison[]> => {
  const out: Comparison[] = [];
  // A few at a time: each starts a Python process.
  for (let i = 0; i < queries.length; i += 4)
    out.push(...(await Promise.all(queries.slice(i, i + 4).map(compareWithDistroinfo))));
  return out;
};

const report = (comparisons: Comparison[]): string =>
  comparisons
    .filter((c) => c.differences.length > 0)
    .map(
      (c) =>
        `${c.query.infoFiles.join(',')} tag=${c.query.tag || '(none)'}: ${c.differences.slice(0, 3).join(' | ')}`,
    )
    .join('\n');

for (const entry of ['rdo.yml', 'rdo-full.yml']) {
  test(`${entry}: every tag lists what distroinfo lists, field by field`, async (t) => {
    const tags = await tagsOf(rdo, [entry]);
    for (const release of RELEASES)
      t.true(tags.includes(release), `the generated repository carries ${release}`);
    const queries: Query[] = ['', ...tags, '~alder', 'b.*ch|elm', 'no-such-tag'].map((tag) => ({
      infoRepo: rdo,
      infoFiles: [entry],
      tag,
    }));
    queries.push({ infoRepo: rdo, infoFiles: [entry], tag: 'hazel', downstreamTag: 'pinned' });
    const comparisons = await compareAll(queries);
    t.is(report(comparisons), '');
    for (const c of comparisons.filter(
      (c) => RELEASES.includes(c.query.tag as never) && !c.query.downstreamTag,
    )) {
      // Not vacuous: each release lists most of the projects on both sides.
      t.true(Number(count(c, 'reference')) > 40, `${c.query.tag}: ${count(c, 'reference')}`);
    }
    const hazel = comparisons.find((c) => c.query.tag === 'hazel' && !c.query.downstreamTag);
    const pinned = hazel && 'packages' in hazel.ours ? hazel.ours.packages : [];
    t.true(
      pinned.some((p) => /^[0-9a-f]{40}$/.test(String(p.dlrn['source-branch']))),
      'a release pins a package to a commit hash',
    );
    t.true(
      pinned.some((p) => p.dlrn.component === 'puppet'),
      "a release overrides a package's component",
    );
  });
}

/** A small info repository of the given files. */
const repo = async (name: string, files: Record<string, string>): Promise<string> => {
  const root = join(dir, name);
  for (const [file, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, file)), { recursive: true });
    await writeFile(join(root, file), text);
  }
  return root;
};

const DEFAULTS =
  'releases: []\npackage-default:\n  name: python-%(project)s\n  maintainers: [team@example.org]\n';

/** Odd shapes: [name, files, entry file, tags to try, what both sides must do]. */
const SHAPES: [string, Record<string, string>, string, string[], 'agree' | 'both refuse'][] = [
  [
    'packages: [] empties the list so far; packages: with no value does not',
    {
      'entry.yml':
        'import: [a.yml, empty.yml, b.yml, none.yml]\n' + DEFAULTS + 'packages:\n- project: first\n',
      'a.yml': 'packages:\n- project: second\n  tags: {t: }\n',
      'empty.yml': 'packages: []\n',
      'b.yml': 'packages:\n- project: third\n  tags: {t: {component: c}}\n- project: fourth\n  tags: {u: }\n',
      'none.yml': 'packages:\n',
    },
    'entry.yml',
    ['', 't', 'u'],
    'agree',
  ],
  [
    'imports given as a mapping, a tag value as key/value pairs, repeats merged',
    {
      'entry.yml':
        'import: {more.yml: }\n' +
        DEFAULTS +
        'packages:\n- project: p\n  tags: {t: [[component, pairs], [source-branch, v1]]}\n',
      'more.yml':
        'packages:\n- project: p\n  maintainers: [extra@example.org]\n- project: p\n  tags: {t2: }\n',
    },
    'entry.yml',
    ['', 't', 't2'],
    'agree',
  ],
  [
    'PyYAML scalars: booleans, y/n, octal, hex, sexagesimal, dates, floats without a dot',
    {
      'entry.yml':
        DEFAULTS +
        'packages:\n- project: scalars\n  tags: {t: }\n  a: yes\n  b: n\n  c: 010\n  d: 0x1F\n  e: 1:30\n  f: 1:30.5\n' +
        '  g: 2024-02-29\n  h: 2001-12-14t21:59:43.10-05:00\n  i: 1e5\n  j: 1.0e+5\n  k: .5\n  l: 1_000\n  m: ~\n' +
        '  n: 0:30\n  o: -.5\n  p: 10.0\n  q: .inf\n  r: On\n  s: "%(a)s %(c)d %(p)s %(g)s %(h)s %(q)s %%"\n  t: "%(e)5d|%(p)-8.2f|%(d)#x|%(a)r"\n',
    },
    'entry.yml',
    ['', 't'],
    'agree',
  ],
  [
    'anchors, aliases and merge keys',
    {
      'entry.yml':
        'releases: []\nbase: &b {upstream: "https://git.example/%(project)s", maintainers: [a@example.org]}\n' +
        'package-default: {name: "%(project)s"}\npackage-configs:\n  c: {<<: *b, component: x}\n' +
        'packages:\n- {project: one, conf: c, tags: &t {t: }}\n- {project: two, <<: *b, tags: *t}\n',
    },
    'entry.yml',
    ['', 't'],
    'agree',
  ],
  [
    'a list of tags filters without a tag applied',
    { 'entry.yml': DEFAULTS + 'packages:\n- {project: l, tags: [x, y]}\n- {project: s, tags: xy}\n' },
    'entry.yml',
    [''],
    'agree',
  ],
  [
    'a list of tags cannot take a tag applied',
    { 'entry.yml': DEFAULTS + 'packages:\n- {project: l, tags: [x, y]}\n' },
    'entry.yml',
    ['x'],
    'both refuse',
  ],
  [
    'a project only a tag file lists has no maintainers',
    {
      'entry.yml':
        'import: [t.yml]\n' +
        DEFAULTS.replace(/ {2}maintainers.*\n/, '') +
        'packages:\n- {project: a, maintainers: [a@x.org]}\n',
      't.yml': 'packages:\n- {project: orphan, tags: {t: }}\n',
    },
    'entry.yml',
    ['', 't'],
    'both refuse',
  ],
  [
    'a project listed twice in a single file',
    { 'entry.yml': DEFAULTS + 'packages:\n- {project: a}\n- {project: a}\n' },
    'entry.yml',
    [''],
    'both refuse',
  ],
  [
    'conf with no value',
    { 'entry.yml': DEFAULTS + 'packages:\n- {project: a, conf: }\n' },
    'entry.yml',
    [''],
    'both refuse',
  ],
  [
    'a maintainer that is not an address, maintainers as one string',
    { 'entry.yml': DEFAULTS + 'packages:\n- {project: a, maintainers: nobody}\n' },
    'entry.yml',
    [''],
    'both refuse',
  ],
  [
    'a template Python cannot fill: %20 in a URL, a key that is not there',
    {
      'entry.yml':
        DEFAULTS +
        'packages:\n- {project: a, upstream: "https://x/a%20b"}\n- {project: b, name: "%(nope)s"}\n',
    },
    'entry.yml',
    [''],
    'both refuse',
  ],
  [
    'a tag that is a number cannot be filtered',
    { 'entry.yml': DEFAULTS + 'packages:\n- {project: a, tags: {2024: }}\n' },
    'entry.yml',
    ['2024'],
    'both refuse',
  ],
  [
    'an empty imported file, a package-default with no value',
    {
      'a.yml': 'import: [empty.yml]\n' + DEFAULTS + 'packages:\n- {project: a}\n',
      'empty.yml': '',
      'b.yml': 'releases: []\npackage-default:\npackages:\n- {project: a, name: a, maintainers: [a@b.c]}\n',
    },
    'a.yml,b.yml',
    ['', 't'],
    'both refuse',
  ],
  [
    'tags with no value and a tag applied',
    { 'c.yml': DEFAULTS + 'packages:\n- {project: a, tags: }\n' },
    'c.yml',
    ['t'],
    'both refuse',
  ],
];

for (const [title, files, entry, tags, expected] of SHAPES) {
  test(`odd shapes: ${title}`, async (t) => {
    const root = await repo(title.replace(/\W+/g, '-').slice(0, 40), files);
    const queries = entry
      .split(',')
      .flatMap((file) => tags.map((tag) => ({ infoRepo: root, infoFiles: [file], tag })));
    const comparisons = await compareAll(queries);
    t.is(report(comparisons), '');
    for (const c of comparisons) {
      const refused = 'error' in c.reference;
      const failed = expected === 'both refuse' ? !refused : refused;
      if (failed)
        t.fail(`${c.query.infoFiles.join()} tag=${c.query.tag}: distroinfo ${count(c, 'reference')}`);
    }
    if (expected === 'agree') t.true(comparisons.some((c) => Number(count(c, 'ours')) > 0));
  });
}

test('distroinfo refuses a repository without releases; we read it (DLRN never reads releases)', async (t) => {
  const root = await repo('no-releases', {
    'rdo.yml': DEFAULTS.replace('releases: []\n', '') + 'packages:\n- {project: a}\n',
  });
  const [c] = await compareAll([{ infoRepo: root, infoFiles: ['rdo.yml'], tag: '' }]);
  t.like(c?.reference, { error: { type: 'MissingRequiredSection' } });
  t.is(count(c as Comparison, 'ours'), 1);
});

/** Runs a Python snippet on JSON input (its standard input) with the tools virtualenv's interpreter. */
const python = <T>(code: string, input: unknown): Promise<T> =>
  new Promise((resolvePromise, reject) => {
    const child = spawn(PYTHON, ['-c', code], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolvePromise(JSON.parse(out) as T) : reject(new Error(`python exited ${code}`)),
    );
    child.stdin.end(JSON.stringify(input));
  });

test('floats print as Python prints them', async (t) => {
  const values = fc.sample(fc.double(), { numRuns: 400, seed: 7 });
  values.push(
    0,
    -0,
    1,
    10,
    0.1,
    1e16,
    1e-5,
    1.5e-5,
    123456789012345680,
    2024.1,
    1.1,
    Infinity,
    -Infinity,
    NaN,
  );
  const hex = values.map((v) => {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, v);
    return [...new Uint8Array(view.buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');
  });
  const expected = await python<string[]>(
    'import json, struct, sys\nprint(json.dumps([repr(struct.unpack(">d", bytes.fromhex(h))[0]) for h in json.load(sys.stdin)]))',
    hex,
  );
  t.deepEqual(values.map(pyFloat), expected);
});

test('templates fill as Python `%` fills them, or fail where Python fails', async (t) => {
  const specs = ['s', 'r', 'd', 'i', 'x', 'X', 'o', 'f', 'e', 'g', 'G', 'c', 'a'];
  const template = fc
    .array(
      fc.oneof(
        fc.constantFrom('%%', 'text ', 'a%(v)', '%(w)s', '%(nope)s', '%', '%20', '%(v'),
        fc
          .tuple(
            fc.constantFrom('', '-', '+', ' ', '#', '0', '-0', '+#'),
            fc.constantFrom('', '5', '12'),
            fc.constantFrom('', '.0', '.3'),
            fc.constantFrom(...specs),
          )
          .map(([flags, width, precision, conv]) => `%(v)${flags}${width}${precision}${conv}`),
      ),
      { maxLength: 4 },
    )
    .map((parts) => parts.join(''));
  const value = fc.oneof(
    fc.string({ maxLength: 6 }),
    fc.integer({ min: -70000, max: 70000 }).map((n) => ({ int: String(n) })),
    fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((f) => ({ float: f === 0 ? 0 : f })),
    fc.integer({ min: -4000, max: 4000 }).map((n) => ({ float: n / 8 })),
    fc.boolean(),
    fc.constant(null),
    fc.constant({ list: ['a', 1] }),
  );
  const cases = fc.sample(fc.tuple(template, value), { numRuns: 5000, seed: 11 });
  const toPy = (v: unknown): PyValue => {
    if (v !== null && typeof v === 'object') {
      if ('int' in v) return BigInt((v as { int: string }).int);
      if ('float' in v) return (v as { float: number }).float;
      return ['a', 1n];
    }
    return v as PyValue;
  };
  const expected = await python<(string | null)[]>(
    [
      'import json, sys',
      'def val(v):',
      '    if isinstance(v, dict):',
      '        if "int" in v: return int(v["int"])',
      '        if "float" in v: return float(v["float"])',
      '        return ["a", 1]',
      '    return v',
      'out = []',
      'for tpl, v in json.load(sys.stdin):',
      '    try: out.append(tpl % {"v": val(v), "w": "W"})',
      '    except Exception: out.append(None)',
      'print(json.dumps(out))',
    ].join('\n'),
    cases,
  );
  const ours = cases.map(([tpl, v]) => {
    try {
      return pyFormat(
        tpl,
        new Map<string, PyValue>([
          ['v', toPy(v)],
          ['w', 'W'],
        ]),
      );
    } catch {
      return null;
    }
  });
  const wrong = cases.flatMap(([tpl, v], i) =>
    ours[i] === expected[i]
      ? []
      : [
          `${JSON.stringify(tpl)} % ${JSON.stringify(v)}: Python ${JSON.stringify(expected[i])}, ours ${JSON.stringify(ours[i])}`,
        ],
  );
  t.deepEqual(wrong.slice(0, 10), []);
});

test("YAML scalars read as PyYAML reads them: the type and Python's str() of each", async (t) => {
  const scalars = [
    'yes',
    'No',
    'on',
    'OFF',
    'y',
    'n',
    'true',
    'True',
    '~',
    'null',
    '',
    '1',
    '-0',
    '010',
    '0o17',
    '0x1F',
    '0b101',
    '1_000',
    '190:20:30',
    '0:30',
    '1.0',
    '10.0',
    '1e5',
    '1.0e5',
    '1.0e+5',
    '.5',
    '-.5',
    '1.',
    '.inf',
    '-.Inf',
    '.nan',
    '2023.1',
    '1.10',
    '2001-12-14',
    '2001-12-14t21:59:43.10-05:00',
    '2001-12-14 21:59:43.10',
    '2002-12-14 21:59:43',
    '2001-12-15T02:59:43.1Z',
    '1.2.3',
    "'quoted'",
    '"1"',
    '!!str 1',
    '= ',
    'a: b',
  ].filter((s) => s !== '= ' && s !== 'a: b');
  const doc = `v:\n${scalars.map((s) => `- ${s}`).join('\n')}\n`;
  const expected = await python<[string, string][]>(
    'import json, sys, yaml\nd = yaml.load(json.load(sys.stdin), Loader=yaml.CLoader)\nprint(json.dumps([[type(x).__name__, str(x)] for x in d["v"]]))',
    doc,
  );
  const ours = (loadPyYaml(doc, 'test') as Map<string, PyValue[]>).get('v') ?? [];
  t.deepEqual(
    ours.map((v) => [pyType(v), pyStr(v)]),
    expected,
  );
});
