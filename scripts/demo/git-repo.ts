/**
 * Git repositories built from file maps, with fixed commit times, for the demo and the tests,
 * so the commit order does not depend on the clock.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type FileMap = Record<string, string | null>;

const git = async (dir: string, args: string[], time?: number): Promise<string> => {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.com',
  };
  if (time !== undefined) {
    env.GIT_AUTHOR_DATE = `${time} +0000`;
    env.GIT_COMMITTER_DATE = `${time} +0000`;
  }
  const { stdout } = await run('git', args, { cwd: dir, env });
  return stdout.trim();
};

/** Writes the files (null deletes one) and commits them; returns the new commit's hash. */
export const commitFiles = async (
  dir: string,
  files: FileMap,
  time: number,
  message = 'change',
): Promise<string> => {
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, path);
    if (content === null) {
      await rm(full, { force: true });
    } else {
      await mkdir(dirname(full), { recursive: true });
      await writeFile(full, content);
    }
  }
  await git(dir, ['add', '-A']);
  await git(dir, ['commit', '-q', '--allow-empty', '-m', message], time);
  return git(dir, ['rev-parse', 'HEAD']);
};

/** A new repository on `branch` with one commit of `files`. */
export const createRepo = async (
  dir: string,
  files: FileMap,
  time: number,
  branch = 'master',
): Promise<string> => {
  await mkdir(dir, { recursive: true });
  await git(dir, ['init', '-q', '-b', branch]);
  return commitFiles(dir, files, time, 'initial');
};

export const checkoutNewBranch = (dir: string, branch: string): Promise<string> =>
  git(dir, ['checkout', '-q', '-b', branch]);
export const checkout = (dir: string, ref: string): Promise<string> => git(dir, ['checkout', '-q', ref]);
export const tag = (dir: string, name: string): Promise<string> => git(dir, ['tag', name]);

/** A small noarch spec; `requires` become BuildRequires. */
export const specFile = (name: string, version = '1.0.0', requires: string[] = []): string =>
  [
    `Name: ${name}`,
    `Version: ${version}`,
    'Release: 1%{?dist}',
    `Summary: ${name} for tests`,
    'License: ASL 2.0',
    'BuildArch: noarch',
    'Source0: %{name}-%{version}.tar.gz',
    ...requires.map((r) => `BuildRequires: ${r}`),
    '',
    '%description',
    `${name} is a package for tests.`,
    '',
    '%prep',
    '',
    '%build',
    '',
    '%install',
    'mkdir -p %{buildroot}%{_datadir}/%{name}',
    'echo %{version} > %{buildroot}%{_datadir}/%{name}/VERSION',
    '',
    '%files',
    '%{_datadir}/%{name}',
    '',
    '%changelog',
    '* Mon Jan 01 2024 Test <test@example.com> - 1.0.0-1',
    '- First build',
    '',
  ].join('\n');
