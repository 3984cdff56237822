/**
 * DLRN's published tree (dlrn-spec §5): where a commit's hashed repository lives under
 * `<datadir>/repos`.
 */

interface CommitHashes {
  commitHash: string;
  distroHash: string | null;
  extendedHash: string | null;
  component?: string | null;
}

/**
 * The commit directory relative to `repos/`: `[component/<c>/]ab/cd/<commit>_<distro[:8]>` plus
 * `_<extended[:8]>`, or for a downstream `<sha>_<sha>` extended hash `_<first[:8]>_<second[:8]>`.
 */
export const commitDir = (c: CommitHashes): string => {
  const h = c.commitHash;
  let name = `${h.slice(0, 2)}/${h.slice(2, 4)}/${h}`;
  if (c.distroHash) name += `_${c.distroHash.slice(0, 8)}`;
  const e = c.extendedHash;
  if (e) name += e.length < 49 ? `_${e.slice(0, 8)}` : `_${e.slice(0, 8)}_${e.slice(41, 49)}`;
  return c.component && c.component !== 'None' ? `component/${c.component}/${name}` : name;
};
