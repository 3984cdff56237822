/**
 * DLRN's branch fallback (dlrn-spec §4.4): when `git checkout -f <branch>` fails, which refs to
 * try instead, or why not to.
 */

export interface FallbackRules {
  /** `[DEFAULT] nonfallback_branches`: regexes matched at the start of the branch name. */
  nonfallbackBranches: readonly string[];
  /** `[DEFAULT] source`: the default upstream branch. */
  source: string | null;
  fallbackToMaster: boolean;
}

type Fallback = { kind: 'try'; refs: string[] } | { kind: 'none'; reason: string };

const matchesAtStart = (pattern: string, branch: string): boolean =>
  new RegExp(`^(?:${pattern})`).test(branch);

/** The refs to try, in order, after `branch` could not be checked out. */
export const fallbackRefs = (branch: string, rules: FallbackRules): Fallback => {
  if (rules.nonfallbackBranches.some((pattern) => matchesAtStart(pattern, branch))) {
    return { kind: 'none', reason: `branch ${branch} does not exist and matches nonfallback_branches` };
  }
  if (branch === rules.source) {
    // A retired stable branch lives on as unmaintained/<x> or as the <x>-eol tag.
    return {
      kind: 'try',
      refs: [
        `origin/${branch.replace('stable/', 'unmaintained/')}`,
        `${branch.replace('stable/', '')}-eol`,
        rules.fallbackToMaster ? 'master' : 'main',
      ],
    };
  }
  if (branch.endsWith('-rdo')) {
    return rules.fallbackToMaster
      ? { kind: 'try', refs: ['rpm-master'] }
      : { kind: 'none', reason: `branch ${branch} does not exist and fallback_to_master is off` };
  }
  return { kind: 'none', reason: `branch ${branch} does not exist` };
};
