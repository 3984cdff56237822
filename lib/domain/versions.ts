/**
 * The version and release strings DLRN's build_srpm.sh computes, and the edits it makes to a
 * spec (dlrn-spec §4.6), as pure functions.
 */

type ReleaseNumbering = '0.date.hash' | '0.1.date.hash' | 'minor.date.hash';

/** `RELEASE_DATE`: the build time (epoch seconds) in UTC as `YYYYMMDDhhmmss`. */
export const releaseDate = (dtBuild: number): string =>
  new Date(dtBuild * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);

/** The RPM release: `0.<date>.<hash>`, `0.1.<date>.<hash>` or `<minor>.<date>.<hash>`. */
export const releaseString = (
  numbering: ReleaseNumbering,
  minor: string,
  date: string,
  shortHash: string,
): string => {
  if (numbering === '0.1.date.hash') return `0.1.${date}.${shortHash}`;
  if (numbering === 'minor.date.hash') return `${minor}.${date}.${shortHash}`;
  return `0.${date}.${shortHash}`;
};

/**
 * The RPM version of an upstream version string: the part before the first `-`; before the
 * last pre-release marker (`.0rc`, `.0b`, `.0a`, `.dev`, `.g`, `.pre`); itself when only digits
 * and dots; else `0.0.1` (DLRN warns).
 */
export const splitVersion = (upstream: string): { version: string; warning?: string } => {
  const dash = upstream.indexOf('-');
  if (dash >= 0) return { version: upstream.slice(0, dash) };
  const markers = ['.0rc', '.0b', '.0a', '.dev', '.g', '.pre'];
  const at = Math.max(...markers.map((m) => upstream.lastIndexOf(m)));
  if (at > 0) return { version: upstream.slice(0, at) };
  if (/^[0-9.]+$/.test(upstream)) return { version: upstream };
  return { version: '0.0.1', warning: `version "${upstream}" cannot be used in an RPM; using 0.0.1` };
};

/** `1.2.3` → `1.2.4`: the last dotted component incremented (commits after a tag). */
export const bumpLastComponent = (version: string): string => {
  const parts = version.split('.');
  const last = Number(parts.at(-1));
  if (!Number.isInteger(last)) return version;
  parts[parts.length - 1] = String(last + 1);
  return parts.join('.');
};

/** A tag without DLRN's leading `v`, `V`, `r` or `R`. */
export const versionOfTag = (tag: string): string => tag.replace(/^[vVrR]/, '');

/** Tags DLRN deletes before describing: private ones and end-of-life markers. */
export const isIgnoredTag = (tag: string): boolean => /^private-|-(em|eol|eom)$/.test(tag);

/** The tarball renamed with the release: `foo-1.0.tar.gz` → `foo-1.0-<release>.tar.gz`. */
export const sourceWithRelease = (file: string, release: string): string =>
  file.replace(/(\.tar\.gz|\.gem|\.tgz)$/, `-${release}$1`);

interface SpecEdits {
  upstreamVersion: string;
  version: string;
  release: string;
  /** SOURCEWITHREL; Source0 points at it unless the tarball is kept. */
  sourceWithRel: string;
  keepTarball: boolean;
  keepChangelog: boolean;
}

const setMacro = (lines: string[], kind: '%define' | '%global', name: string, value: string): string[] => {
  const re = new RegExp(`^%(define|global)\\s+${name}\\s`);
  const index = lines.findIndex((l) => re.test(l));
  const line = `${kind} ${name} ${value}`;
  if (index >= 0) return lines.map((l, i) => (i === index ? line : l));
  return [line, ...lines];
};

/** The spec as build_srpm.sh leaves it (unless DLRN_KEEP_SPEC_AS_IS). */
export const editSpec = (spec: string, e: SpecEdits): string => {
  let lines = spec.split('\n');
  lines = setMacro(lines, '%global', 'dlrn_nvr', e.sourceWithRel.replace(/(\.tar\.gz|\.gem|\.tgz)$/, ''));
  lines = setMacro(lines, '%global', 'dlrn', '1');
  lines = setMacro(lines, '%define', 'upstream_version', e.upstreamVersion);
  lines = lines.map((line) => {
    let l = line.replaceAll('UPSTREAMVERSION', e.upstreamVersion);
    if (/^Version:/.test(l)) l = `Version: ${e.version.replace('-', '.')}`;
    else if (/^Release:/.test(l)) l = `Release: ${e.release}%{?dist}`;
    else if (!e.keepTarball && /^Source0?:/.test(l))
      l = l.replace(/^(Source0?:\s*).*$/, `$1${e.sourceWithRel}`);
    return l;
  });
  if (!e.keepChangelog) {
    const at = lines.findIndex((l) => /^%changelog/.test(l));
    if (at >= 0) lines = [...lines.slice(0, at + 1), ''];
  }
  return lines.join('\n');
};
