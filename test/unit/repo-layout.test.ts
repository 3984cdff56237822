import test from 'ava';
import { commitDir } from '../../lib/domain/repo-layout.ts';

test("commit directories follow DLRN's layout, extended and component forms included", (t) => {
  t.is(
    commitDir({
      commitHash: '1c67b1ab8c6fe273d4e175a14f0df5d3cbbd0edc',
      distroHash: '8170b8686c38bafb6021d998e2fb268ab26ccf65',
      extendedHash: null,
    }),
    '1c/67/1c67b1ab8c6fe273d4e175a14f0df5d3cbbd0edc_8170b868',
  );
  t.is(
    commitDir({
      commitHash: '3a9326f251b9a4162eb0dfa9f1c924ef47c2c55a',
      distroHash: '024e24f0cf4366c2290c22f24e42de714d1addd1',
      extendedHash: 'abcdef1234567890',
    }),
    '3a/93/3a9326f251b9a4162eb0dfa9f1c924ef47c2c55a_024e24f0_abcdef12',
  );
  const downstream = `${'a'.repeat(8)}${'0'.repeat(32)}_${'b'.repeat(8)}${'1'.repeat(32)}`;
  t.is(
    commitDir({ commitHash: 'ffee00', distroHash: 'dddddddddd', extendedHash: downstream }),
    'ff/ee/ffee00_dddddddd_aaaaaaaa_bbbbbbbb',
  );
  t.is(
    commitDir({
      commitHash: '17234e9ab9dfab4cf5600f67f1d24db5064f1025',
      distroHash: '024e24f0cf4366c2290c22f24e42de714d1addd1',
      extendedHash: null,
      component: 'tripleo',
    }),
    'component/tripleo/17/23/17234e9ab9dfab4cf5600f67f1d24db5064f1025_024e24f0',
  );
  t.is(
    commitDir({ commitHash: 'abcdef', distroHash: null, extendedHash: null, component: 'None' }),
    'ab/cd/abcdef',
  );
});
