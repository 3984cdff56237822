/**
 * preprocess: what DLRN does to a distgit before building it: Jinja2 spec templates rendered
 * (renderspec's functions, fedora style, through nunjucks) and the `custom_preprocess`
 * programs run with exactly DLRN's environment (dlrn-spec §6.6).
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nunjucks from 'nunjucks';
import type { BuildJob } from '../../lib/domain/build.ts';
import { BuildFailedError } from '../../lib/domain/errors.ts';
import { releaseDate } from '../../lib/domain/versions.ts';
import { distroinfoPath } from '../../lib/pkginfo/distroinfo.ts';
import type { ActivityDeps } from '../deps.ts';
import { workspaceOf } from './workspace.ts';

/** SPDX names of common licenses and the names Fedora specs use (renderspec's fedora style). */
const FEDORA_LICENSES: Record<string, string> = {
  'Apache-2.0': 'ASL 2.0',
  'BSD-2-Clause': 'BSD',
  'BSD-3-Clause': 'BSD',
  'GPL-2.0': 'GPLv2',
  'GPL-2.0+': 'GPLv2+',
  'GPL-3.0': 'GPLv3',
  'GPL-3.0+': 'GPLv3+',
  'LGPL-2.1': 'LGPLv2',
  'LGPL-2.1+': 'LGPLv2+',
  'LGPL-3.0': 'LGPLv3',
  MIT: 'MIT',
  'MPL-2.0': 'MPLv2.0',
  'PSF-2.0': 'Python',
};

/** A python module name as a Fedora package name: `oslo.config` → `python-oslo-config`. */
const pyPackage = (prefix: string, name: string): string => {
  const base = name
    .toLowerCase()
    .replace(/[._]/g, '-')
    .replace(/^python-/, '');
  return `${prefix}-${base}`;
};

const withVersion = (name: string, spec?: unknown): string => {
  if (Array.isArray(spec) && spec.length === 2) return `${name} ${String(spec[0])} ${String(spec[1])}`;
  return name;
};

/** The functions rpm-packaging templates call, fedora style. Anything else is an error. */
const renderspecGlobals = (upstreamVersion: string | undefined) => ({
  py2pkg: (name: string, version?: unknown) => withVersion(pyPackage('python', name), version),
  py3pkg: (name: string, version?: unknown) => withVersion(pyPackage('python3', name), version),
  py2name: (name?: string) => (name ? pyPackage('python', name) : 'python'),
  py3name: (name?: string) => (name ? pyPackage('python3', name) : 'python3'),
  license: (spdx: string) => FEDORA_LICENSES[spdx] ?? spdx,
  epoch: () => 0,
  upstream_version: (fallback?: string) => upstreamVersion ?? fallback ?? '%{upstream_version}',
  py2rpmversion: () => '%{upstream_version}',
  py2rpmrelease: () => '1',
  url_pypi: () => 'https://pypi.org/project/%{pypi_name}',
  fetch_source: (url: string) => url,
});

/**
 * Jinja2 has tuples and nunjucks does not: the version pairs renderspec templates pass
 * (`py2pkg('x', ('>=', '1.0'))`) become arrays before rendering.
 */
export const tuplesToArrays = (template: string): string =>
  template.replace(/(?<![\w\])])\(\s*('[^']*'|"[^"]*")\s*,\s*('[^']*'|"[^"]*")\s*\)/g, '[$1, $2]');

/** Renders every `*.spec.j2` of a distgit into the `.spec` beside it. */
const renderTemplates = async (dir: string, upstreamVersion?: string): Promise<string[]> => {
  const templates = (await readdir(dir)).filter((f) => f.endsWith('.spec.j2'));
  const env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true });
  for (const [name, fn] of Object.entries(renderspecGlobals(upstreamVersion))) env.addGlobal(name, fn);
  for (const template of templates) {
    const text = tuplesToArrays(await readFile(join(dir, template), 'utf8'));
    let rendered: string;
    try {
      rendered = env.renderString(text, {});
    } catch (err) {
      const message = (err as Error).message.replace(/\s+/g, ' ').trim();
      const unknown = /Unable to call `(\w+)`, which is undefined/.exec(message)?.[1];
      throw new BuildFailedError(
        unknown
          ? `spec template ${template} calls ${unknown}(), which renderspec's fedora style does not provide`
          : `spec template ${template} does not render: ${message}`,
        { cause: err },
      );
    }
    await writeFile(join(dir, template.replace(/\.j2$/, '')), rendered);
  }
  return templates;
};

/** The environment of a custom_preprocess program: exactly these variables, nothing else. */
const preprocessEnv = (deps: ActivityDeps, job: BuildJob, distgitDir: string, sourceDir: string | null) => {
  const { config } = deps;
  const env: Record<string, string> = {
    LANG: 'C',
    MOCK_CONFIG: 'dlrn-1.cfg',
    RELEASE_DATE: releaseDate(job.dtBuild),
    RELEASE_MINOR: config.default.releaseMinor || '0',
    RELEASE_NUMBERING: config.default.releaseNumbering,
  };
  const pkginfo = config.pkginfo;
  const vars: Record<string, string | undefined> = {
    DLRN_PACKAGE_NAME: job.commit.projectName,
    DLRN_DISTGIT: distgitDir,
    DLRN_SOURCEDIR: sourceDir ?? undefined,
    DLRN_SOURCE_COMMIT: job.commit.commitHash,
    DLRN_USER: process.env.USER ?? 'root',
  };
  if (pkginfo.name === 'rdoinfo' || pkginfo.name === 'downstream') {
    vars.DLRN_DISTROINFO_REPO = distroinfoPath(pkginfo.options.repo ?? '', pkginfo.options.infoFiles);
  }
  if (pkginfo.name === 'downstream') {
    vars.DLRN_UPSTREAM_DISTGIT = join(config.default.datadir, `${job.commit.projectName}_distro_upstream`);
    vars.DLRN_DATADIR = config.default.datadir;
  }
  for (const [key, value] of Object.entries(vars)) if (value) env[key] = value;
  return env;
};

const runPreprocess = (program: string, cwd: string, env: Record<string, string>): Promise<void> =>
  new Promise((resolve, reject) => {
    const child = spawn(program, [], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-8192)));
    child.on('error', (err) =>
      reject(new BuildFailedError(`Custom pre-process failed: ${program}: ${err.message}`, { cause: err })),
    );
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(
            new BuildFailedError(
              `Custom pre-process failed: ${stderr.trim() || `${program} exited with ${code}`}`,
            ),
          ),
    );
  });

export interface PreprocessResult {
  templates: string[];
  programs: string[];
}

/** Renders spec templates, then runs custom_preprocess in order (the local driver runs none). */
export const preprocess = async (deps: ActivityDeps, job: BuildJob): Promise<PreprocessResult> => {
  const ws = workspaceOf(deps, job);
  const templates = await renderTemplates(ws.distgitDir);
  if (deps.config.pkginfo.name === 'local') return { templates, programs: [] };
  const env = preprocessEnv(deps, job, ws.distgitDir, ws.sourceDir);
  for (const program of deps.config.default.customPreprocess)
    await runPreprocess(program, ws.distgitDir, env);
  return { templates, programs: deps.config.default.customPreprocess };
};
