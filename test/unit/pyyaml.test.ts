/**
 * lib/domain/pyyaml.ts writes what PyYAML writes: 503 strings (DLRN's commit fields, every quoting
 * and folding rule, random text with YAML's indicators, breaks, tabs and non-ASCII) against the
 * text PyYAML 6 dumped for each (test/fixtures/pyyaml-dump.py made the fixture).
 */
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dumpListOfStringMaps } from '../../lib/domain/pyyaml.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';

interface Fixture {
  pyyaml: string;
  cases: { row: Record<string, string>; yaml: string }[];
}

test('every case is byte for byte what PyYAML dumps', async (t) => {
  const fixture = JSON.parse(
    await readFile(join(PROJECT_ROOT, 'test', 'fixtures', 'pyyaml-dump.json'), 'utf8'),
  ) as Fixture;
  t.true(fixture.cases.length > 500);
  const wrong = fixture.cases.filter((c) => dumpListOfStringMaps('commits', [c.row]) !== c.yaml);
  t.deepEqual(
    wrong
      .slice(0, 3)
      .map((c) => ({ notes: c.row.notes, pyyaml: c.yaml, ours: dumpListOfStringMaps('commits', [c.row]) })),
    [],
  );
});

test("DLRN's usual fields: numbers, empty strings and notes holding ': ' quoted, None plain, long lines folded", (t) => {
  t.is(
    dumpListOfStringMaps('commits', [
      {
        id: '12',
        dt_commit: '1735776360.0',
        extended_hash: 'None',
        component: '',
        notes:
          'Error in build_rpm_wrapper for python-some-long-package-name: rpmbuild --rebuild failed with exit code 1',
      },
    ]),
    "commits:\n- component: ''\n  dt_commit: '1735776360.0'\n  extended_hash: None\n  id: '12'\n" +
      "  notes: 'Error in build_rpm_wrapper for python-some-long-package-name: rpmbuild --rebuild\n" +
      "    failed with exit code 1'\n",
  );
});
