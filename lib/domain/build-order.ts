/**
 * `--order`: build packages after the packages they need (dlrn-spec §4.3). Specs, already
 * expanded by `rpmspec -P`, are read for their name, what they provide and what they require;
 * the order is a depth-first post-order; cycles are reported and broken.
 */

interface SpecDeps {
  /** The project (package) the spec belongs to. */
  project: string;
  /** `Name:` of the spec. */
  name: string;
  /** The name, sub-packages and `Provides:`. */
  provides: string[];
  /** `BuildRequires:` and `Requires*:` names, without versions. */
  requires: string[];
}

const MACRO_DEF = /^\s*%(?:define|global)\s+(.+)\s+(\S+)\s*$/;
const TAG = /^\s*(Name|Provides|BuildRequires|Requires(?:\([^)]*\))?)\s*:\s*(.*)$/i;
const SUBPACKAGE = /^\s*%package\s+(-n\s+)?(\S+)/;

/** Expands `%{name}` and `%name` from the macros seen so far; unknown macros become empty. */
const expand = (text: string, macros: Map<string, string>, depth = 0): string => {
  if (depth > 10) return text;
  const out = text.replace(
    /%\{\??([\w]+)\}|%([A-Za-z_]\w*)/g,
    (_m, braced: string | undefined, bare: string | undefined) => {
      const value = macros.get(braced ?? bare ?? '');
      return value === undefined ? '' : value;
    },
  );
  return out === text ? out : expand(out, macros, depth + 1);
};

/** Dependency names of a `Requires:` value: items split on commas and spaces, versions dropped. */
export const dependencyNames = (value: string): string[] => {
  const names: string[] = [];
  // Rich dependencies "(a or b)" name no single package: drop them, nested ones too.
  let plain = value;
  while (/\([^()]*\)/.test(plain)) plain = plain.replace(/\([^()]*\)/g, ' ');
  const tokens = plain.split(/[\s,]+/).filter(Boolean);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] ?? '';
    if (/^[<>=!]+$/.test(token)) {
      i++; // the version after the operator
      continue;
    }
    names.push(token);
  }
  return names;
};

/** Reads name, provides and requires from a spec (first match per line, as DLRN does). */
export const parseSpecDeps = (project: string, spec: string): SpecDeps => {
  const macros = new Map<string, string>();
  let name = '';
  const provides = new Set<string>();
  const requires = new Set<string>();
  for (const line of spec.split('\n')) {
    const def = MACRO_DEF.exec(line);
    if (def && !line.trimStart().startsWith('#')) {
      macros.set((def[1] ?? '').trim(), def[2] ?? '');
      continue;
    }
    const tag = TAG.exec(line);
    if (tag) {
      const key = (tag[1] ?? '').toLowerCase();
      const value = expand(tag[2] ?? '', macros);
      if (key === 'name') {
        if (!name) {
          name = value.trim();
          macros.set('name', name);
          provides.add(name);
        }
      } else if (key === 'provides') {
        for (const dep of dependencyNames(value)) provides.add(dep);
      } else {
        for (const dep of dependencyNames(value)) requires.add(dep);
      }
      continue;
    }
    const sub = SUBPACKAGE.exec(line);
    if (sub) {
      const subName = expand(sub[2] ?? '', macros);
      provides.add(sub[1] ? subName : `${name}-${subName}`);
    }
  }
  return { project, name: name || project, provides: [...provides], requires: [...requires] };
};

export interface BuildOrder {
  /** Projects, each after those it depends on. */
  order: string[];
  /** Each cycle found, as the projects on it (the first repeated at the end). */
  cycles: string[][];
}

/**
 * Depth-first post-order over the specs in the order given (DLRN sorts project names first).
 * An edge runs from a spec to every other spec that provides one of its requirements. A cycle is
 * reported and broken at the edge that closes it, so every project still appears once.
 */
export const buildOrder = (specs: readonly SpecDeps[]): BuildOrder => {
  const provider = new Map<string, number>();
  specs.forEach((spec, index) => {
    for (const name of spec.provides) if (!provider.has(name)) provider.set(name, index);
  });
  const state = new Map<number, 'active' | 'done'>();
  const order: string[] = [];
  const cycles: string[][] = [];
  const stack: number[] = [];
  const visit = (index: number): void => {
    const seen = state.get(index);
    if (seen === 'done') return;
    if (seen === 'active') {
      const from = stack.indexOf(index);
      cycles.push([...stack.slice(from), index].map((i) => specs[i]?.project ?? ''));
      return;
    }
    state.set(index, 'active');
    stack.push(index);
    for (const dep of specs[index]?.requires ?? []) {
      const target = provider.get(dep);
      if (target !== undefined && target !== index) visit(target);
    }
    stack.pop();
    state.set(index, 'done');
    order.push(specs[index]?.project ?? '');
  };
  specs.forEach((_spec, index) => visit(index));
  // DLRN's special case: the dash-named arista package must precede the underscore one.
  const underscore = order.indexOf('python-networking_arista');
  if (underscore >= 0 && !order.includes('python-networking-arista'))
    order.splice(underscore, 0, 'python-networking-arista');
  return { order, cycles };
};
