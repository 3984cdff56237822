/** Runs one of our commands (`bin/<name>.js`) as a process, as a person or a cron job would. */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { PROJECT_ROOT } from '../../lib/paths.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const runCli = (
  name: string,
  args: string[],
  options: { cwd: string; input?: string; env?: Record<string, string> },
): Promise<CliResult> =>
  new Promise((ok, fail) => {
    const child = spawn(process.execPath, [resolve(PROJECT_ROOT, 'bin', `${name}.js`), ...args], {
      cwd: options.cwd,
      env: { ...process.env, DLRN_LOG_LEVEL: 'warn', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', fail);
    child.on('close', (code) => ok({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
