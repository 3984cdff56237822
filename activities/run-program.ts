import { spawn } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { log } from '@temporalio/activity';
import type { CommitCandidate } from '../lib/domain/packages.ts';
import { commitDir } from '../lib/domain/repo-layout.ts';
import { withBuildEnv } from './build-env.ts';
import type { ActivityDeps } from './deps.ts';

export interface RunProgramInput {
  commit: CommitCandidate;
  program: string;
  /** `--build-env VAR=VALUE` items, added to the program's environment. */
  buildEnv: string[];
}

export interface RunProgramResult {
  exitCode: number;
  /** The last lines of the program's output. */
  tail: string;
}

/**
 * `--run PROGRAM`: runs `PROGRAM <target> <project> <datadir>/repos/<commit dir> <datadir>
 * <baseurl> <distgit>` for a package head instead of building it, as DLRN does (its exit code is
 * the result; nothing is recorded).
 */
export const runProgram = async (deps: ActivityDeps, input: RunProgramInput): Promise<RunProgramResult> => {
  const datadir = await realpath(deps.config.default.datadir);
  const distgit = await realpath(input.commit.distgitDir).catch(() => input.commit.distgitDir);
  const args = [
    deps.config.default.target ?? 'None',
    input.commit.projectName,
    join(datadir, 'repos', commitDir(input.commit)),
    datadir,
    deps.config.default.baseurl ?? 'None',
    distgit,
  ];
  const env = withBuildEnv(input.buildEnv);
  log.info('running program', { program: input.program, args });
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(input.program, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-8192);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => resolve({ exitCode: 127, tail: `${input.program}: ${err.message}` }));
    child.on('close', (code, signal) =>
      resolve({ exitCode: code ?? (signal ? 128 : 1), tail: output.split('\n').slice(-20).join('\n') }),
    );
  });
};
