/** Pages as a browser sees them: headless Chromium (installed by scripts/bootstrap.sh). */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/**
 * The DOM Chromium builds from `url` (http: or file:) after its scripts ran; a virtual time
 * budget lets a page's fetches finish before the DOM is dumped.
 */
export const renderedDom = async (url: string): Promise<string> => {
  const profile = await mkdtemp(join(tmpdir(), 'dlrnt-chromium-'));
  try {
    const { stdout } = await exec(
      'chromium',
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        '--virtual-time-budget=10000',
        '--dump-dom',
        url,
      ],
      { maxBuffer: 16 * 1024 * 1024, timeout: 60_000 },
    );
    return stdout;
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
};

/** The text of each row of a table's body, cells joined by single spaces. */
export const tableRows = (html: string, table: string): string[] => {
  const body =
    new RegExp(`<table id="${table}"[^>]*>[\\s\\S]*?<tbody>([\\s\\S]*?)</tbody>`).exec(html)?.[1] ?? '';
  return [...body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((m) =>
    (m[1] ?? '')
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim(),
  );
};
