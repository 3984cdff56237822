/**
 * Python values as PyYAML builds them, and the few Python operations distroinfo applies to
 * them: `str()`, `repr()`, truthiness, `in`, and the `%` operator with a mapping (the package
 * templates). Info files are read into these so that the merge, the templates and the tag
 * filter see what distroinfo sees: an int is not a float (`1.10` prints `1.1`, `10.0` prints
 * `10.0`), a date is a date, a key keeps its type and its place.
 *
 * Pure code: no I/O.
 */

/** A date or date-time scalar (`2024-01-31`), kept as Python prints it. */
export class PyTimestamp {
  constructor(
    /** `str()` of the Python value: `2024-01-31`, `2024-01-31 10:00:00+00:00`. */
    readonly text: string,
    /** `repr()` of the Python value: `datetime.date(2024, 1, 31)`. */
    readonly repr: string,
  ) {}
}

/** A scalar: Python's str, int (bigint), float (number), bool, None (null), date. */
export type PyScalar = string | bigint | number | boolean | null | PyTimestamp;
/** A Python dict: insertion-ordered, keys of any scalar type. */
export type PyDict = Map<PyScalar, PyValue>;
export type PyValue = PyScalar | PyValue[] | PyDict;

export const isDict = (value: PyValue | undefined): value is PyDict => value instanceof Map;
export const isList = (value: PyValue | undefined): value is PyValue[] => Array.isArray(value);

/** Python's name for the type of a value, for messages (`'int'`, `'NoneType'`). */
export const pyType = (value: PyValue): string => {
  if (value === null) return 'NoneType';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'number') return 'float';
  if (typeof value === 'boolean') return 'bool';
  if (value instanceof PyTimestamp) return value.text.includes(':') ? 'datetime' : 'date';
  return isList(value) ? 'list' : 'dict';
};

/** Python's `repr(float)`: the shortest digits that read back, exponent outside 1e-4..1e16. */
export const pyFloat = (value: number): string => {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const [mantissa = '', exponent = '0'] = value.toExponential().split('e');
  const exp = Number(exponent);
  const digits = mantissa.replace('-', '').replace('.', '');
  const sign = value < 0 ? '-' : '';
  if (exp >= 16 || exp < -4) {
    const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${head}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const whole = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  return `${sign}${whole}.${digits.slice(exp + 1) || '0'}`;
};

const NON_PRINTABLE = /[\p{C}\p{Z}]/u;

const escapeChar = (ch: string, asciiOnly: boolean): string => {
  const code = ch.codePointAt(0) ?? 0;
  if (ch === '\\') return '\\\\';
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  if (ch === ' ' || (code >= 0x20 && code < 0x7f)) return ch;
  if (!asciiOnly && code > 0x7f && !NON_PRINTABLE.test(ch)) return ch;
  if (code < 0x100) return `\\x${code.toString(16).padStart(2, '0')}`;
  if (code < 0x10000) return `\\u${code.toString(16).padStart(4, '0')}`;
  return `\\U${code.toString(16).padStart(8, '0')}`;
};

const strRepr = (text: string, asciiOnly: boolean): string => {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of text) out += ch === quote ? `\\${ch}` : escapeChar(ch, asciiOnly);
  return `${quote}${out}${quote}`;
};

/** Python's `repr()`. */
export const pyRepr = (value: PyValue, asciiOnly = false): string => {
  if (typeof value === 'string') return strRepr(value, asciiOnly);
  if (value instanceof PyTimestamp) return value.repr;
  if (isList(value)) return `[${value.map((v) => pyRepr(v, asciiOnly)).join(', ')}]`;
  if (isDict(value)) {
    const items = [...value].map(([k, v]) => `${pyRepr(k, asciiOnly)}: ${pyRepr(v, asciiOnly)}`);
    return `{${items.join(', ')}}`;
  }
  return pyStr(value);
};

/** Python's `str()`. */
export const pyStr = (value: PyValue): string => {
  if (value === null) return 'None';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return pyFloat(value);
  if (value instanceof PyTimestamp) return value.text;
  return pyRepr(value);
};

/** Python's truth value of an object. */
export const pyTruthy = (value: PyValue | undefined): boolean => {
  if (value === undefined || value === null) return false;
  if (typeof value === 'string') return value !== '';
  if (typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value !== 0n;
  if (typeof value === 'number') return value !== 0;
  if (value instanceof PyTimestamp) return true;
  return isList(value) ? value.length > 0 : value.size > 0;
};

/** Thrown where Python would raise TypeError or ValueError. */
export class PyError extends Error {
  override name = 'PyError';
}

/** Python's `needle in container` for a string needle: substring, item or key. */
export const pyIn = (needle: string, container: PyValue): boolean => {
  if (typeof container === 'string') return container.includes(needle);
  if (isList(container)) return container.some((item) => item === needle);
  if (isDict(container)) return container.has(needle);
  throw new PyError(`argument of type '${pyType(container)}' is not iterable`);
};

/** Python's `dict.update(other)`: a dict, or a list of key/value pairs. */
export const pyUpdate = (target: PyDict, other: PyValue): void => {
  if (isDict(other)) {
    for (const [key, value] of other) target.set(key, value);
    return;
  }
  if (!isList(other)) throw new PyError(`'${pyType(other)}' object is not iterable`);
  other.forEach((pair, index) => {
    const items = typeof pair === 'string' ? [...pair] : isList(pair) ? pair : null;
    if (!items)
      throw new PyError(`cannot convert dictionary update sequence element #${index} to a sequence`);
    if (items.length !== 2) {
      throw new PyError(
        `dictionary update sequence element #${index} has length ${items.length}; 2 is required`,
      );
    }
    const [key, value] = items as [PyValue, PyValue];
    if (isList(key) || isDict(key)) throw new PyError(`unhashable type: '${pyType(key)}'`);
    target.set(key, value);
  });
};

/** A deep copy (`copy.deepcopy`). */
export const pyDeepCopy = (value: PyValue): PyValue => {
  if (isList(value)) return value.map(pyDeepCopy);
  if (isDict(value)) return new Map([...value].map(([k, v]) => [k, pyDeepCopy(v)]));
  return value;
};

/** Thrown by {@link pyFormat} for a `%(key)s` whose key the mapping lacks (Python's KeyError). */
export class PyKeyError extends Error {
  override name = 'PyKeyError';
  constructor(readonly key: string) {
    super(`KeyError: ${strRepr(key, false)}`);
  }
}

const SPEC = /^([-+ #0]*)(\*|\d+)?(?:\.(\*|\d*))?[hlL]?(.)?/s;

interface Spec {
  flags: string;
  width: number;
  precision: number | null;
}

/** Pads to `width` code points (Python counts characters, not UTF-16 units). */
const pad = (text: string, { flags, width }: Spec, zeroPadAfter = 0): string => {
  const length = [...text].length;
  if (length >= width) return text;
  const fill = width - length;
  if (flags.includes('-')) return text + ' '.repeat(fill);
  if (flags.includes('0') && zeroPadAfter >= 0 && zeroPadAfter <= text.length)
    return text.slice(0, zeroPadAfter) + '0'.repeat(fill) + text.slice(zeroPadAfter);
  return ' '.repeat(fill) + text;
};

const asInteger = (value: PyValue, conversion: string, floatsToo: boolean): bigint => {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'boolean') return value ? 1n : 0n;
  if (typeof value === 'number' && floatsToo) {
    if (!Number.isFinite(value)) throw new PyError(`cannot convert float ${pyFloat(value)} to integer`);
    return BigInt(Math.trunc(value));
  }
  const wanted = floatsToo ? 'a real number' : 'an integer';
  throw new PyError(`%${conversion} format: ${wanted} is required, not ${pyType(value)}`);
};

const asFloat = (value: PyValue, conversion: string): number => {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  throw new PyError(`%${conversion} format: must be real number, not ${pyType(value)}`);
};

const signOf = (negative: boolean, flags: string): string =>
  negative ? '-' : flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '';

/** The exact value of a finite, non-negative double as `digits / 10^scale`. */
const exactDecimal = (value: number): { digits: bigint; scale: number } => {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & 0xfffffffffffffn;
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const exponent = (biased === 0 ? 1 : biased) - 1075;
  if (exponent >= 0) return { digits: mantissa << BigInt(exponent), scale: 0 };
  // m / 2^k = m * 5^k / 10^k
  return { digits: mantissa * 5n ** BigInt(-exponent), scale: -exponent };
};

/** `n / 10^drop` rounded half to even, as Python's correctly rounded formatting does. */
const roundHalfEven = (n: bigint, drop: number): bigint => {
  if (drop <= 0) return n * 10n ** BigInt(-drop);
  const unit = 10n ** BigInt(drop);
  const q = n / unit;
  const twice = (n % unit) * 2n;
  return twice > unit || (twice === unit && q % 2n === 1n) ? q + 1n : q;
};

/** `%.<precision>f` of a finite non-negative double. */
const fixed = (value: number, precision: number): string => {
  const { digits, scale } = exactDecimal(value);
  const text = roundHalfEven(digits, scale - precision)
    .toString()
    .padStart(precision + 1, '0');
  return precision === 0 ? text : `${text.slice(0, -precision)}.${text.slice(-precision)}`;
};

/** `%.<precision>e` of a finite non-negative double, and its decimal exponent. */
const exponential = (value: number, precision: number): { text: string; exp: number } => {
  const { digits, scale } = exactDecimal(value);
  const length = digits === 0n ? 1 : digits.toString().length;
  let exp = digits === 0n ? 0 : length - 1 - scale;
  let kept = roundHalfEven(digits, length - (precision + 1));
  if (kept.toString().length > precision + 1) {
    kept /= 10n;
    exp += 1;
  }
  const text = kept.toString().padEnd(precision + 1, '0');
  const mantissa = precision === 0 ? text : `${text[0]}.${text.slice(1)}`;
  return { text: `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`, exp };
};

const formatFloat = (value: number, conversion: string, spec: Spec): string => {
  const upper = conversion === conversion.toUpperCase();
  const negative = value < 0 || Object.is(value, -0);
  const abs = Math.abs(value);
  let body: string;
  if (!Number.isFinite(abs)) body = Number.isNaN(abs) ? 'nan' : 'inf';
  else {
    const precision = spec.precision ?? 6;
    const kind = conversion.toLowerCase();
    if (kind === 'f') body = fixed(abs, precision);
    else if (kind === 'e') body = exponential(abs, precision).text;
    else {
      const p = precision === 0 ? 1 : precision;
      const e = exponential(abs, p - 1);
      body = e.exp >= -4 && e.exp < p ? fixed(abs, p - 1 - e.exp) : e.text;
      if (!spec.flags.includes('#')) body = body.replace(/(\.\d*?)0+(e|$)/, '$1$2').replace(/\.(e|$)/, '$1');
    }
  }
  // The alternate form always has a decimal point (`%#.0e` is `1.e+00`).
  if (spec.flags.includes('#') && Number.isFinite(abs) && !body.includes('.'))
    body = body.replace(/(e|$)/, '.$1');
  if (upper) body = body.toUpperCase();
  const sign = signOf(negative && !Number.isNaN(value), spec.flags);
  return pad(sign + body, spec, Number.isFinite(abs) ? sign.length : -1);
};

const formatOne = (value: PyValue, conversion: string, spec: Spec): string => {
  switch (conversion) {
    case 's':
    case 'r':
    case 'a': {
      const text = conversion === 's' ? pyStr(value) : pyRepr(value, conversion === 'a');
      return pad(spec.precision === null ? text : [...text].slice(0, spec.precision).join(''), {
        ...spec,
        flags: spec.flags.replace('0', ''),
      });
    }
    case 'd':
    case 'i':
    case 'u':
    case 'o':
    case 'x':
    case 'X': {
      const n = asInteger(value, conversion, 'diu'.includes(conversion));
      const radix = conversion === 'o' ? 8 : conversion.toLowerCase() === 'x' ? 16 : 10;
      let digits = (n < 0n ? -n : n).toString(radix);
      if (conversion === 'X') digits = digits.toUpperCase();
      if (spec.precision !== null) digits = digits.padStart(spec.precision, '0');
      const prefix =
        spec.flags.includes('#') && radix !== 10 ? `0${conversion === 'o' ? 'o' : conversion}` : '';
      const head = signOf(n < 0n, spec.flags) + prefix;
      return pad(head + digits, spec, head.length);
    }
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
      return formatFloat(asFloat(value, conversion), conversion, spec);
    case 'c': {
      if (typeof value === 'string' && [...value].length === 1) return pad(value, spec, -1);
      const code = Number(asInteger(value, 'c', false));
      if (code < 0 || code > 0x10ffff) throw new PyError('%c arg not in range(0x110000)');
      return pad(String.fromCodePoint(code), spec, -1);
    }
    default:
      throw new PyError(`unsupported format character '${conversion}'`);
  }
};

/**
 * Python's `template % mapping`: `%(key)s` (any conversion, flags, width and precision), `%%`,
 * and a spec without a key formats the mapping itself, once, as Python does. Throws
 * {@link PyKeyError} for a key the mapping lacks and {@link PyError} where Python raises
 * TypeError or ValueError (`'100%' % d`: incomplete format).
 */
export const pyFormat = (template: string, mapping: PyDict): string => {
  let out = '';
  let usedWhole = false;
  let index = 0;
  while (index < template.length) {
    const percent = template.indexOf('%', index);
    if (percent < 0) return out + template.slice(index);
    out += template.slice(index, percent);
    let at = percent + 1;
    let value: PyValue | undefined;
    if (template[at] === '(') {
      let depth = 1;
      let end = at + 1;
      for (; end < template.length && depth > 0; end++) {
        if (template[end] === '(') depth++;
        else if (template[end] === ')') depth--;
      }
      if (depth > 0) throw new PyError('incomplete format key');
      const key = template.slice(at + 1, end - 1);
      if (!mapping.has(key)) throw new PyKeyError(key);
      value = mapping.get(key);
      at = end;
    }
    const match = SPEC.exec(template.slice(at)) ?? ['', '', undefined, undefined, undefined];
    const [whole, flags = '', width, precision, conversion] = match;
    if (conversion === undefined) throw new PyError('incomplete format');
    at += whole.length;
    index = at;
    if (conversion === '%' && whole === '%' && value === undefined) {
      out += '%';
      continue;
    }
    if (width === '*' || precision === '*') throw new PyError('* wants int');
    if (value === undefined) {
      if (usedWhole) throw new PyError('not enough arguments for format string');
      usedWhole = true;
      value = mapping;
    }
    if (conversion === '%' || !'sradiuoxXeEfFgGc'.includes(conversion)) {
      const code = conversion.codePointAt(0)?.toString(16) ?? '0';
      throw new PyError(`unsupported format character '${conversion}' (0x${code}) at index ${at - 1}`);
    }
    out += formatOne(value, conversion, {
      flags,
      width: width ? Number(width) : 0,
      precision: precision === undefined ? null : Number(precision || 0),
    });
  }
  return out;
};
