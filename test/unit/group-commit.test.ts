import test from 'ava';
import { groupCommit } from '../../api/group-commit.ts';

test('rows arriving while a batch is written go together in the next one', async (t) => {
  const batches: number[][] = [];
  const store = groupCommit(async (rows: number[]) => {
    batches.push(rows);
    await new Promise((r) => setTimeout(r, 20));
  });
  await Promise.all(Array.from({ length: 10 }, (_, i) => store(i)));
  // The first row starts a write at once; the nine that came during it share the second.
  t.deepEqual(batches, [[0], [1, 2, 3, 4, 5, 6, 7, 8, 9]]);
  await store(10);
  t.deepEqual(batches.at(-1), [10]);
});

test('a bad row fails only its own caller: a failed batch is written again row by row', async (t) => {
  const stored: number[] = [];
  const store = groupCommit(async (rows: number[]) => {
    await new Promise((r) => setTimeout(r, 5));
    if (rows.includes(3)) throw new Error('row 3 breaks a constraint');
    stored.push(...rows);
  });
  const results = await Promise.allSettled([0, 1, 2, 3, 4].map((n) => store(n)));
  t.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
  );
  t.deepEqual(stored.sort(), [0, 1, 2, 4]);
});
