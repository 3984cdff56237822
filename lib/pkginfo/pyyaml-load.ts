/**
 * YAML read as PyYAML's loader reads it (what distroinfo's `yaml.load` gives): YAML 1.1 with
 * PyYAML's own implicit resolvers and constructors. Where the `yaml` package's YAML 1.1 schema
 * differs from PyYAML, PyYAML wins: `y`/`n` stay strings, `1e5` is a string (PyYAML's floats
 * need a dot), `0:30` is a string, ints are ints and floats floats (`10.0` is not `10`), and
 * dates are dates printed as Python prints them.
 */
import { parseDocument, type ScalarTag, type Tags } from 'yaml';
import { PYYAML_RESOLVERS } from '../domain/pyyaml.ts';
import { PyError, PyTimestamp, type PyDict, type PyValue } from './py-values.ts';

const TAG = (name: string) => `tag:yaml.org,2002:${name}`;

const boolTag = (value: boolean, test: RegExp): ScalarTag => ({
  tag: TAG('bool'),
  default: true,
  test,
  resolve: () => value,
});

/** PyYAML's construct_yaml_int. */
const constructInt = (source: string): bigint => {
  let text = source.replace(/_/g, '');
  const negative = text.startsWith('-');
  if (text.startsWith('-') || text.startsWith('+')) text = text.slice(1);
  let value: bigint;
  if (text === '0') value = 0n;
  else if (text.startsWith('0b')) value = BigInt(`0b${text.slice(2)}`);
  else if (text.startsWith('0x')) value = BigInt(`0x${text.slice(2)}`);
  else if (text.startsWith('0')) value = BigInt(`0o${text.slice(1)}`);
  else if (text.includes(':')) value = text.split(':').reduce((sum, part) => sum * 60n + BigInt(part), 0n);
  else value = BigInt(text);
  return negative ? -value : value;
};

/** PyYAML's construct_yaml_float. */
const constructFloat = (source: string): number => {
  let text = source.replace(/_/g, '').toLowerCase();
  const sign = text.startsWith('-') ? -1 : 1;
  if (text.startsWith('-') || text.startsWith('+')) text = text.slice(1);
  if (text === '.inf') return sign * Infinity;
  if (text === '.nan') return NaN;
  if (text.includes(':')) return sign * text.split(':').reduce((sum, part) => sum * 60 + Number(part), 0);
  return sign * Number(text);
};

const TIMESTAMP =
  /^(\d{4})-(\d\d?)-(\d\d?)(?:(?:[Tt]|[ \t]+)(\d\d?):(\d\d):(\d\d)(?:\.(\d*))?(?:[ \t]*(Z|([-+])(\d\d?)(?::(\d\d))?))?)?$/;

const two = (n: number) => String(n).padStart(2, '0');

/** Python's repr of a fixed-offset timezone. */
const tzRepr = (minutes: number): string => {
  if (minutes === 0) return 'datetime.timezone.utc';
  const seconds = minutes * 60;
  const days = Math.floor(seconds / 86400);
  const rest = seconds - days * 86400;
  return `datetime.timezone(datetime.timedelta(${days ? `days=${days}, ` : ''}seconds=${rest}))`;
};

/** PyYAML's construct_yaml_timestamp, kept as Python's str() and repr() of the value. */
const constructTimestamp = (source: string, onError: (message: string) => void): PyTimestamp | string => {
  const m = TIMESTAMP.exec(source);
  if (!m) return source;
  const [year, month, day, hour, minute, second] = m
    .slice(1, 7)
    .map((v) => (v === undefined ? NaN : Number(v)));
  const check = new Date(Date.UTC(year ?? 0, (month ?? 1) - 1, day ?? 1));
  if (check.getUTCMonth() + 1 !== month || check.getUTCDate() !== day) {
    onError(`${source}: day is out of range for month`);
    return source;
  }
  const date = `${String(year).padStart(4, '0')}-${two(month ?? 0)}-${two(day ?? 0)}`;
  if (m[4] === undefined) return new PyTimestamp(date, `datetime.date(${year}, ${month}, ${day})`);
  const micro = m[7] ? Number(m[7].slice(0, 6).padEnd(6, '0')) : 0;
  let tz: number | null = null;
  if (m[9]) tz = (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11] ?? 0));
  else if (m[8]) tz = 0;
  let text = `${date} ${two(hour ?? 0)}:${two(minute ?? 0)}:${two(second ?? 0)}`;
  if (micro) text += `.${String(micro).padStart(6, '0')}`;
  if (tz !== null) {
    const abs = Math.abs(tz);
    text += `${tz < 0 ? '-' : '+'}${two(Math.floor(abs / 60))}:${two(abs % 60)}`;
  }
  const fields = [year, month, day, hour, minute];
  if (micro) fields.push(second, micro);
  else if (second) fields.push(second);
  const repr = `datetime.datetime(${fields.join(', ')}${tz === null ? '' : `, tzinfo=${tzRepr(tz)}`})`;
  return new PyTimestamp(text, repr);
};

const PYYAML_TAGS: ScalarTag[] = [
  boolTag(true, /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/),
  boolTag(false, /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/),
  { tag: TAG('int'), default: true, test: PYYAML_RESOLVERS.int, resolve: constructInt },
  { tag: TAG('float'), default: true, test: PYYAML_RESOLVERS.float, resolve: constructFloat },
  { tag: TAG('timestamp'), default: true, test: PYYAML_RESOLVERS.timestamp, resolve: constructTimestamp },
];

const REPLACED = new Set([TAG('bool'), TAG('int'), TAG('float'), TAG('timestamp')]);

/** The `yaml` package's YAML 1.1 tags with PyYAML's scalars in place of its own. */
const pyyamlTags = (tags: Tags): Tags => [
  ...tags.filter((tag) => !(typeof tag === 'object' && REPLACED.has(tag.tag))),
  ...PYYAML_TAGS,
];

const toPy = (value: unknown, where: string): PyValue => {
  if (value === null || value === undefined) return null;
  if (
    typeof value === 'string' ||
    typeof value === 'bigint' ||
    typeof value === 'number' ||
    typeof value === 'boolean' ||
    value instanceof PyTimestamp
  )
    return value;
  if (Array.isArray(value)) return value.map((item) => toPy(item, where));
  if (value instanceof Map) {
    const out: PyDict = new Map();
    for (const [key, item] of value) {
      const k = toPy(key, where);
      if (Array.isArray(k) || k instanceof Map)
        throw new PyError(
          `${where}: a mapping key is a ${Array.isArray(k) ? 'list' : 'mapping'} (unhashable)`,
        );
      out.set(k, toPy(item, where));
    }
    return out;
  }
  const kind = value instanceof Uint8Array ? '!!binary' : value instanceof Set ? '!!set' : typeof value;
  throw new PyError(`${where}: holds a YAML ${kind} value, which package information does not use`);
};

/**
 * The value of one YAML document as PyYAML loads it (`None` for an empty file). Throws PyError
 * with the parser's message and position for text that is not YAML.
 */
export const loadPyYaml = (text: string, where: string): PyValue => {
  const doc = parseDocument(text, {
    version: '1.1',
    customTags: pyyamlTags,
    intAsBigInt: true,
    uniqueKeys: false,
    prettyErrors: true,
  });
  const error = doc.errors[0];
  if (error) throw new PyError(`${where} is not valid YAML: ${error.message}`);
  return toPy(doc.toJS({ mapAsMap: true, maxAliasCount: -1 }), where);
};
