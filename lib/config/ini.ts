/**
 * A reader for INI files with the semantics of Python's `configparser.RawConfigParser`, which
 * is what DLRN reads `projects.ini` with. npm's INI parsers differ where projects.ini files rely
 * on Python's rules: values keep `;` and `#` (no inline comments), keys are case-insensitive,
 * indented lines continue the previous value, `:` is a delimiter too, `[DEFAULT]` values are
 * inherited by every section, and duplicate sections or options are errors (strict mode).
 */
import type { ConfigIssue } from '../domain/errors.ts';

export const DEFAULT_SECTION = 'DEFAULT';

export interface IniDocument {
  /** Options of `[DEFAULT]`, keys lower-cased. */
  defaults: Map<string, string>;
  /** Other sections in file order, each with its own options only (no inherited defaults). */
  sections: Map<string, Map<string, string>>;
}

interface IniParseResult {
  doc: IniDocument;
  issues: ConfigIssue[];
}

const SECTION_RE = /^\[(?<name>[^\]]+)\]/;

/** Parses INI text; syntax problems are returned as issues naming the line. */
export const parseIni = (text: string, source = '<string>'): IniParseResult => {
  const doc: IniDocument = { defaults: new Map(), sections: new Map() };
  const issues: ConfigIssue[] = [];
  let current: Map<string, string> | undefined;
  let currentName: string | undefined;
  let lastKey: string | undefined;
  let lastIndent = 0;

  text.split(/\r?\n/).forEach((raw, index) => {
    const lineNo = index + 1;
    const stripped = raw.trim();
    if (stripped === '' || stripped.startsWith('#') || stripped.startsWith(';')) {
      // configparser keeps blank lines inside a value only when a continuation follows; a
      // comment or blank line never belongs to a value here.
      if (stripped === '') lastKey = undefined;
      return;
    }
    const indent = raw.length - raw.trimStart().length;
    if (current && lastKey !== undefined && indent > lastIndent) {
      current.set(lastKey, `${current.get(lastKey) ?? ''}\n${stripped}`);
      return;
    }
    const section = SECTION_RE.exec(stripped);
    if (section?.groups) {
      const name = section.groups.name ?? '';
      lastKey = undefined;
      if (name === DEFAULT_SECTION) {
        current = doc.defaults;
      } else if (doc.sections.has(name)) {
        issues.push({ where: name, message: `${source}:${lineNo}: section [${name}] appears twice` });
        current = doc.sections.get(name);
      } else {
        current = new Map();
        doc.sections.set(name, current);
      }
      currentName = name;
      return;
    }
    if (!current) {
      issues.push({
        where: source,
        message: `${source}:${lineNo}: "${stripped}" comes before any [section] header`,
      });
      return;
    }
    const delimiter = stripped.search(/[=:]/);
    if (delimiter <= 0) {
      issues.push({
        where: `${currentName}`,
        message: `${source}:${lineNo}: "${stripped}" in [${currentName}] is not "option = value"`,
      });
      return;
    }
    const key = stripped.slice(0, delimiter).trim().toLowerCase();
    const value = stripped.slice(delimiter + 1).trim();
    if (current.has(key)) {
      issues.push({
        where: `${currentName}.${key}`,
        message: `${source}:${lineNo}: option "${key}" appears twice in [${currentName}]`,
      });
    }
    current.set(key, value);
    lastKey = key;
    lastIndent = indent;
  });
  return { doc, issues };
};

/** The value of `section.key`, falling back to `[DEFAULT]` as configparser does. */
export const iniGet = (doc: IniDocument, section: string, key: string): string | undefined => {
  if (section === DEFAULT_SECTION) return doc.defaults.get(key);
  return doc.sections.get(section)?.get(key) ?? doc.defaults.get(key);
};
