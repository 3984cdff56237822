import type { PackageInfo } from './packages.ts';

interface Selection {
  selected: PackageInfo[];
  /** Names given with --package-name or --project-name that match no package. */
  unknown: string[];
}

/** `--package-name` selects by package name, `--project-name` by upstream project. */
export const selectPackages = (
  packages: readonly PackageInfo[],
  packageNames: readonly string[],
  projectNames: readonly string[],
): Selection => {
  if (packageNames.length === 0 && projectNames.length === 0) return { selected: [...packages], unknown: [] };
  const selected = packages.filter((p) => packageNames.includes(p.name) || projectNames.includes(p.project));
  const unknown = [
    ...packageNames.filter((n) => !packages.some((p) => p.name === n)),
    ...projectNames.filter((n) => !packages.some((p) => p.project === n)),
  ];
  return { selected, unknown };
};

/** Runs `work` over `items` with at most `limit` at once, results in input order. */
export const mapLimit = async <T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> => {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, () => lane()));
  return results;
};
