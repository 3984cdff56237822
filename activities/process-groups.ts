/**
 * The tools this process runs in process groups of their own (build tools, network git): each
 * is killed with every process it started, on cancellation, on a stall, or when `dlrn` leaves on
 * Ctrl-C in local mode and its worker goes with it.
 */

/** The process groups of the tools this process runs now. */
const liveGroups = new Set<number>();

/** SIGKILL to a tool and every process it started (its group: the tool runs detached). */
export const killProcessGroup = (pid: number | undefined): void => {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
};

/** Notes a tool's group while it runs; the function to call when it has ended. */
export const trackGroup = (pid: number | undefined): (() => void) => {
  if (pid === undefined) return () => undefined;
  liveGroups.add(pid);
  return () => liveGroups.delete(pid);
};

/** SIGKILL to every tool this process runs now and their children. Returns how many. */
export const killLiveToolGroups = (): number => {
  const count = liveGroups.size;
  for (const pid of liveGroups) killProcessGroup(pid);
  liveGroups.clear();
  return count;
};
