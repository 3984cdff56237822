import test from 'ava';
import { tuplesToArrays } from '../../activities/build/preprocess.ts';
import { transientLine } from '../../lib/domain/transient.ts';
import {
  bumpLastComponent,
  editSpec,
  isIgnoredTag,
  releaseDate,
  releaseString,
  sourceWithRelease,
  splitVersion,
  versionOfTag,
} from '../../lib/domain/versions.ts';

test('release strings follow release_numbering', (t) => {
  const date = releaseDate(1_735_689_600 + 3661);
  t.is(date, '20250101010101');
  t.is(releaseString('0.date.hash', '0', date, 'abc1234'), '0.20250101010101.abc1234');
  t.is(releaseString('0.1.date.hash', '0', date, 'abc1234'), '0.1.20250101010101.abc1234');
  t.is(releaseString('minor.date.hash', '3', date, 'abc1234'), '3.20250101010101.abc1234');
});

test('upstream versions split into RPM versions as build_srpm.sh does', (t) => {
  t.is(splitVersion('1.2.3').version, '1.2.3');
  t.is(splitVersion('1.2.3-4-gabcdef').version, '1.2.3');
  t.is(splitVersion('12.0.0.0rc2.dev14').version, '12.0.0.0rc2');
  t.is(splitVersion('12.0.0.0rc2').version, '12.0.0');
  t.is(splitVersion('2.1.0.dev5').version, '2.1.0');
  t.is(splitVersion('3.0.0.0b1').version, '3.0.0');
  t.deepEqual(splitVersion('stable'), {
    version: '0.0.1',
    warning: 'version "stable" cannot be used in an RPM; using 0.0.1',
  });
});

test('commits after a tag bump the last component; DLRN tags are cleaned', (t) => {
  t.is(bumpLastComponent('1.2.3'), '1.2.4');
  t.is(bumpLastComponent('7'), '8');
  t.is(versionOfTag('v2.0.0'), '2.0.0');
  t.is(versionOfTag('R1.0'), '1.0');
  t.true(isIgnoredTag('private-foo'));
  t.true(isIgnoredTag('zed-eol'));
  t.true(isIgnoredTag('wallaby-em'));
  t.false(isIgnoredTag('1.0.0'));
  t.is(sourceWithRelease('demo-1.0.1.tar.gz', '0.2025.abc'), 'demo-1.0.1-0.2025.abc.tar.gz');
  t.is(sourceWithRelease('x-2.gem', 'r'), 'x-2-r.gem');
});

const spec = `%global pypi_name demo
Name: demo
Version: XXX
Release: XXX
Source0: https://example.org/%{name}-%{version}.tar.gz
Source1: demo.conf
%description
Built from UPSTREAMVERSION.
%changelog
* Mon Jan 01 2024 A <a@b> - 1-1
- old entry
`;

test('the spec is edited as build_srpm.sh edits it', (t) => {
  const edited = editSpec(spec, {
    upstreamVersion: '1.0.1.0rc1',
    version: '1.0.1',
    release: '0.20250101000000.abc1234',
    sourceWithRel: '1.0.1-0.20250101000000.abc1234.tar.gz',
    keepTarball: false,
    keepChangelog: false,
  });
  t.is(
    edited,
    `%define upstream_version 1.0.1.0rc1
%global dlrn 1
%global dlrn_nvr 1.0.1-0.20250101000000.abc1234
%global pypi_name demo
Name: demo
Version: 1.0.1
Release: 0.20250101000000.abc1234%{?dist}
Source0: 1.0.1-0.20250101000000.abc1234.tar.gz
Source1: demo.conf
%description
Built from 1.0.1.0rc1.
%changelog
`,
  );
});

test('keep_changelog and a kept tarball leave those parts alone; existing macros are replaced', (t) => {
  const edited = editSpec(`%define upstream_version old\n${spec}`, {
    upstreamVersion: '2.0',
    version: '2.0',
    release: 'r',
    sourceWithRel: 's.tar.gz',
    keepTarball: true,
    keepChangelog: true,
  });
  t.regex(
    edited,
    /^%global dlrn 1\n%global dlrn_nvr s\n%define upstream_version 2.0\n/,
    'the existing define is replaced where it stands',
  );
  t.false(edited.includes('upstream_version old'));
  t.regex(edited, /Source0: https:\/\/example.org/);
  t.regex(edited, /- old entry/);
});

test("transient failures are recognised by DLRN's patterns", (t) => {
  t.is(
    transientLine('ok\nError: Failed to synchronize cache for repo "base"\n'),
    'Error: Failed to synchronize cache for repo "base"',
  );
  t.is(
    transientLine('curl: (28) Connection timed out after 10000 ms'),
    'curl: (28) Connection timed out after 10000 ms',
  );
  t.is(transientLine('error: Bad exit status from /var/tmp/rpm-tmp (%build)'), undefined);
});

test('template tuples become arrays, function calls stay calls', (t) => {
  t.is(
    tuplesToArrays("{{ py2pkg('oslo.config', ('>=', '6.0')) }}"),
    "{{ py2pkg('oslo.config', ['>=', '6.0']) }}",
  );
  t.is(tuplesToArrays("{{ f('a', 'b') }} {{ g(x)('c', 'd') }}"), "{{ f('a', 'b') }} {{ g(x)('c', 'd') }}");
});
