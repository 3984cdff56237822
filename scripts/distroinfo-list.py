#!/usr/bin/env python3
"""List the packages of an info repository as DLRN 0.26.1 sees them, with distroinfo itself.

The reference our own reader (lib/pkginfo/distroinfo.ts) is compared with: it loads the info
files the way DLRN's rdoinfo and downstream drivers do (DistroInfo on a local checkout,
get_info with the release tag applied, then query.filter_pkgs on the tag, then on the
downstream tag), and prints, for each package in order:

  raw   the whole package dict distroinfo built (keys and values as JSON; dict keys and dates
        as Python's str() prints them)
  dlrn  the fields DLRN reads from it, as DLRN reads them (str() of each value, the branch
        helpers' defaults, build-tags-only)

Run with the tools virtualenv (scripts/bootstrap.sh installs distroinfo there):

  .tools/venv/bin/python scripts/distroinfo-list.py --info-repo DIR --info-files rdo.yml \\
      [--tags TAG] [--downstream-tag TAG]

A failure of distroinfo (a bad info file) prints {"error": {"type": ..., "message": ...}} and
exits 1; the JSON always goes to standard output.
"""
import argparse
import datetime
import json
import sys

from distroinfo import info as distroinfo_info
from distroinfo import query


def plain(value):
    """A Python value as JSON can carry it: dict keys and dates through str()."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return str(value)
    if isinstance(value, float) and value != value:
        return 'nan'
    if isinstance(value, float) and value in (float('inf'), float('-inf')):
        return str(value)
    return value


def text(package, key):
    """A key DLRN reads as a string: str() of its value, None when it is absent or empty.

    (An empty value of a branch or path key breaks DLRN's git commands; it is reported as
    absent here, as our reader falls back to the default for it.)
    """
    value = package.get(key)
    return None if value is None else str(value)


def build_tags_only(package):
    # The same test DLRN's rdoinfo driver makes (buildtagsonly).
    return bool('tags' in package and package['tags'] is not None and
                'build-tags-only' in package['tags'] or
                'build-tags-only' in package)


def dlrn_view(package):
    upstream = package.get('upstream')
    if upstream is None:
        upstream = 'Unknown'
    return {
        'name': str(package['name']),
        'project': str(package['project']),
        'upstream': ([str(u) for u in upstream] if isinstance(upstream, list)
                     else str(upstream)),
        'master-distgit': text(package, 'master-distgit'),
        'maintainers': [str(m) for m in package['maintainers']],
        'distro-branch': text(package, 'distro-branch'),
        'source-branch': text(package, 'source-branch'),
        'distgit-path': text(package, 'distgit-path'),
        'component': text(package, 'component'),
        'version-from': text(package, 'version-from'),
        'types': [str(t) for t in package.get('types', ['rpm'])],
        'build-tags-only': build_tags_only(package),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--info-repo', required=True)
    parser.add_argument('--info-files', required=True,
                        help='comma-separated, as info_files in projects.ini')
    parser.add_argument('--tags', default='')
    parser.add_argument('--downstream-tag', default='')
    args = parser.parse_args()
    files = [f.strip() for f in args.info_files.split(',') if f.strip()]
    try:
        repo = distroinfo_info.DistroInfo(info_files=files,
                                          local_info=args.info_repo)
        packages = repo.get_info(apply_tag=args.tags or None)['packages']
        if args.tags:
            packages = query.filter_pkgs(packages, {'tags': args.tags})
        if args.downstream_tag:
            packages = query.filter_pkgs(packages,
                                         {'tags': args.downstream_tag})
        out = [{'raw': plain(p), 'dlrn': dlrn_view(p)} for p in packages]
    except Exception as err:  # every failure is an answer here: the caller compares it
        json.dump({'error': {'type': type(err).__name__,
                             'message': str(err)}}, sys.stdout)
        sys.stdout.write('\n')
        return 1
    json.dump({'packages': out}, sys.stdout)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
