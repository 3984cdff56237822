/**
 * YAML text as PyYAML's `yaml.dump(data, default_flow_style=False)` writes it, for the files DLRN
 * writes that way (`commit.yaml`): keys sorted, a list in a mapping not indented, each string
 * plain, single-quoted or double-quoted by PyYAML's rules (quoted when it would read back as
 * another type under YAML 1.1, such as `'0'`, `'1735776360.0'`, `'yes'` or `''`), lines folded
 * past column 80 as PyYAML folds them, and anything outside printable ASCII escaped.
 *
 * No YAML library writes PyYAML's choices and folding (the `yaml` package, given every option,
 * still folds before column 80 and quotes other strings), so this covers the one shape DLRN
 * dumps: a mapping of lists of mappings of strings. Checked against PyYAML 6's own output
 * (test/fixtures/pyyaml-dump.json).
 */

const BEST_WIDTH = 80;

/**
 * PyYAML's implicit resolvers (yaml/resolver.py): a plain scalar matching one of these is read as
 * that type, not as a string.
 */
export const PYYAML_RESOLVERS = {
  bool: /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  float:
    /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  int: /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/,
  merge: /^(?:<<)$/,
  null: /^(?:~|null|Null|NULL|)$/,
  timestamp:
    /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/,
  value: /^(?:=)$/,
} as const;

const IMPLICIT = Object.values(PYYAML_RESOLVERS);

const BREAKS = '\n\x85\u2028\u2029';
const WHITESPACE = `\0 \t\r${BREAKS}`;
const ESCAPES: Record<string, string> = {
  '\0': '0',
  '\x07': 'a',
  '\x08': 'b',
  '\t': 't',
  '\n': 'n',
  '\x0B': 'v',
  '\x0C': 'f',
  '\r': 'r',
  '\x1B': 'e',
  '"': '"',
  '\\': '\\',
  '\x85': 'N',
  '\xA0': '_',
  '\u2028': 'L',
  '\u2029': 'P',
};

const printableAscii = (ch: string): boolean => ch >= '\x20' && ch <= '\x7E';

type Style = 'plain' | 'single' | 'double';

/** PyYAML's analyze_scalar and choose_scalar_style, for a string value in block context. */
const styleOf = (text: string): Style => {
  const chars = Array.from(text);
  let blockIndicators = false;
  let lineBreaks = false;
  let special = false;
  let leading = false;
  let trailing = false;
  let breakSpace = false;
  let spaceBreak = false;
  if (text.startsWith('---') || text.startsWith('...')) blockIndicators = true;
  let precededByWhitespace = true;
  let followedByWhitespace = chars.length === 1 || WHITESPACE.includes(chars[1] ?? '');
  let previousSpace = false;
  let previousBreak = false;
  chars.forEach((ch, index) => {
    if (index === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) blockIndicators = true;
      if ('?:'.includes(ch) && followedByWhitespace) blockIndicators = true;
      if (ch === '-' && followedByWhitespace) blockIndicators = true;
    } else {
      if (ch === ':' && followedByWhitespace) blockIndicators = true;
      if (ch === '#' && precededByWhitespace) blockIndicators = true;
    }
    if (BREAKS.includes(ch)) lineBreaks = true;
    // Without allow_unicode every character outside printable ASCII is special.
    if (!(ch === '\n' || printableAscii(ch))) special = true;
    const last = index === chars.length - 1;
    if (ch === ' ') {
      if (index === 0) leading = true;
      if (last) trailing = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (BREAKS.includes(ch)) {
      if (index === 0) leading = true;
      if (last) trailing = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = previousBreak = false;
    }
    precededByWhitespace = WHITESPACE.includes(ch);
    followedByWhitespace = index + 2 >= chars.length || WHITESPACE.includes(chars[index + 2] ?? '');
  });
  // (PyYAML's flow indicators only matter inside flow collections, which DLRN's dump never writes.)
  const blockPlain =
    text !== '' &&
    !(leading || trailing || breakSpace || spaceBreak || special || lineBreaks || blockIndicators);
  // A plain scalar must read back as a string.
  if (blockPlain && !IMPLICIT.some((re) => re.test(text))) return 'plain';
  return breakSpace || spaceBreak || special ? 'double' : 'single';
};

/** PyYAML's emitter state for one scalar: the column, and the indent of continuation lines. */
class Line {
  out = '';
  column: number;
  whitespace = false;
  indention = false;
  constructor(
    start: number,
    private readonly indent: number,
  ) {
    this.column = start;
  }
  write(data: string): void {
    this.out += data;
    this.column += data.length;
  }
  indicator(indicator: string, needWhitespace: boolean): void {
    this.write(this.whitespace || !needWhitespace ? indicator : ` ${indicator}`);
    this.whitespace = false;
    this.indention = false;
  }
  lineBreak(data = '\n'): void {
    this.out += data;
    this.whitespace = this.indention = true;
    this.column = 0;
  }
  writeIndent(): void {
    if (!this.indention || this.column > this.indent || (this.column === this.indent && !this.whitespace))
      this.lineBreak();
    if (this.column < this.indent) {
      this.whitespace = true;
      this.write(' '.repeat(this.indent - this.column));
    }
  }
}

const writePlain = (line: Line, chars: string[]): void => {
  line.write(' ');
  let spaces = false;
  let start = 0;
  for (let end = 0; end <= chars.length; end++) {
    const ch = chars[end];
    if (spaces) {
      if (ch !== ' ') {
        if (start + 1 === end && line.column > BEST_WIDTH) {
          line.writeIndent();
          line.whitespace = line.indention = false;
        } else line.write(chars.slice(start, end).join(''));
        start = end;
      }
    } else if (ch === undefined || ch === ' ') {
      line.write(chars.slice(start, end).join(''));
      start = end;
    }
    spaces = ch === ' ';
  }
};

const writeSingleQuoted = (line: Line, chars: string[]): void => {
  line.indicator("'", true);
  let spaces = false;
  let breaks = false;
  let start = 0;
  for (let end = 0; end <= chars.length; end++) {
    const ch = chars[end];
    if (spaces) {
      if (ch !== ' ') {
        if (start + 1 === end && line.column > BEST_WIDTH && start !== 0 && end !== chars.length)
          line.writeIndent();
        else line.write(chars.slice(start, end).join(''));
        start = end;
      }
    } else if (breaks) {
      if (ch === undefined || !BREAKS.includes(ch)) {
        if (chars[start] === '\n') line.lineBreak();
        for (const br of chars.slice(start, end)) line.lineBreak(br === '\n' ? '\n' : br);
        line.writeIndent();
        start = end;
      }
    } else if (ch === undefined || ch === ' ' || BREAKS.includes(ch) || ch === "'") {
      if (start < end) {
        line.write(chars.slice(start, end).join(''));
        start = end;
      }
    }
    if (ch === "'") {
      line.write("''");
      start = end + 1;
    }
    if (ch !== undefined) {
      spaces = ch === ' ';
      breaks = BREAKS.includes(ch);
    }
  }
  line.indicator("'", false);
};

const escape = (ch: string): string => {
  const named = ESCAPES[ch];
  if (named !== undefined) return `\\${named}`;
  const code = ch.codePointAt(0) ?? 0;
  if (code <= 0xff) return `\\x${code.toString(16).toUpperCase().padStart(2, '0')}`;
  if (code <= 0xffff) return `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return `\\U${code.toString(16).toUpperCase().padStart(8, '0')}`;
};

const writeDoubleQuoted = (line: Line, chars: string[]): void => {
  line.indicator('"', true);
  let start = 0;
  for (let end = 0; end <= chars.length; end++) {
    const ch = chars[end];
    if (ch === undefined || '"\\\x85\u2028\u2029\uFEFF'.includes(ch) || !printableAscii(ch)) {
      if (start < end) {
        line.write(chars.slice(start, end).join(''));
        start = end;
      }
      if (ch !== undefined) {
        line.write(escape(ch));
        start = end + 1;
      }
    }
    if (
      end > 0 &&
      end < chars.length - 1 &&
      (ch === ' ' || start >= end) &&
      line.column + (end - start) > BEST_WIDTH
    ) {
      const data = `${chars.slice(start, end).join('')}\\`;
      if (start < end) start = end;
      line.write(data);
      line.writeIndent();
      line.whitespace = line.indention = false;
      if (chars[start] === ' ') line.write('\\');
    }
  }
  line.indicator('"', false);
};

/** One `key: value` line (or lines) of a mapping at `indent`, its first key after `prefix`. */
const entry = (prefix: string, key: string, value: string, indent: number): string => {
  const line = new Line(prefix.length + key.length + 1, indent + 2);
  const chars = Array.from(value);
  const style = styleOf(value);
  if (style === 'plain') writePlain(line, chars);
  else if (style === 'single') writeSingleQuoted(line, chars);
  else writeDoubleQuoted(line, chars);
  return `${prefix}${key}:${line.out}\n`;
};

/** `yaml.dump({name: [rows]}, default_flow_style=False)` for rows of strings. */
export const dumpListOfStringMaps = (name: string, rows: Record<string, string>[]): string => {
  let out = `${name}:\n`;
  for (const row of rows) {
    Object.keys(row)
      .sort()
      .forEach((key, i) => {
        out += entry(i === 0 ? '- ' : '  ', key, row[key] ?? '', 2);
      });
  }
  return out;
};
