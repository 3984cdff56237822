/**
 * DLRN's log lines, on stderr, always: the format DLRN gives Python's logging
 * (`%(asctime)s %(levelname)s:%(name)s:%(message)s`, the time local, milliseconds after a comma),
 * its logger names and its words. Sites' wrappers and RDO's tooling read these lines
 * (`Processing <project> <commit>`, `Build failed. See logs at: ...`); our own progress and
 * summary go to stdout beside them.
 */
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { RunBuild } from '../workflows/run.ts';

export type DlrnLevel = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

const two = (n: number): string => String(n).padStart(2, '0');

/** Python logging's default `asctime`: `2026-12-01 21:00:34,592`, local time. */
export const asctime = (d: Date): string =>
  `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ` +
  `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())},${String(d.getMilliseconds()).padStart(3, '0')}`;

export const dlrnLogLine = (level: DlrnLevel, logger: string, message: string, at = new Date()): string =>
  `${asctime(at)} ${level}:${logger}:${message}`;

export const dlrnLog = (level: DlrnLevel, logger: string, message: string): void => {
  process.stderr.write(`${dlrnLogLine(level, logger, message)}\n`);
};

const hasEnded = (status: RunBuild['status']): boolean =>
  status === 'SUCCESS' || status === 'FAILED' || status === 'RETRY';

/**
 * What DLRN logs for each build of a run, once per build, in the order DLRN logs it: the start
 * (`Processing`), then a failure's lines, or after a success while packages fail, that
 * `consistent` stays. Fed every view of the run's builds (each progress poll, then the result),
 * so a build that started and ended between two polls is still told in full.
 */
export const dlrnBuildLog = (
  datadir: string,
  options: { useComponents?: boolean } = {},
  log = dlrnLog,
): ((builds: RunBuild[]) => void) => {
  // With use_components DLRN names the component, `None` when the package has none.
  const forComponent = (build: RunBuild) =>
    options.useComponents ? ` for component ${build.component ?? 'None'}` : '';
  const started = new Set<string>();
  const ended = new Set<string>();
  let realDatadir: string | undefined;
  // DLRN names the directory under os.path.realpath(datadir).
  const logsAt = (outputDir: string) => {
    try {
      realDatadir ??= realpathSync(datadir);
    } catch {
      realDatadir = datadir;
    }
    return `${join(realDatadir, outputDir)}/`;
  };
  return (builds) => {
    for (const build of builds) {
      // Another run's build: that run told it.
      if (build.elsewhere !== undefined) continue;
      const running = build.status === 'RUNNING';
      if (!running && !hasEnded(build.status)) continue;
      if (!started.has(build.workflowId)) {
        started.add(build.workflowId);
        log(
          'INFO',
          'dlrn-build',
          `Processing ${build.projectName} ${build.commitHash}${forComponent(build)}`,
        );
      }
      if (running || ended.has(build.workflowId)) continue;
      ended.add(build.workflowId);
      const notes = build.notes ?? '';
      if (build.status === 'SUCCESS') {
        const published = build.published;
        // (A build recorded before runs carried `consistent` has neither field: nothing said.)
        if (published?.consistent === false)
          log(
            'INFO',
            'dlrn',
            `${published.failures} packages not built correctly${forComponent(build)}: not updating the consistent symlink`,
          );
        continue;
      }
      // DLRN's build step logs where the logs are, except when the build made no RPM at all.
      if (build.outputDir && !notes.startsWith('No rpms built for'))
        log('ERROR', 'dlrn-build', `Build failed. See logs at: ${logsAt(build.outputDir)}`);
      log('ERROR', 'dlrn', `Received exception ${notes}`);
      if (build.status === 'RETRY')
        log('ERROR', 'dlrn', `Known error building packages for ${build.projectName}, will retry later`);
    }
  };
};
