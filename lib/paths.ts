import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The checkout this code runs from; DLRN's path defaults are relative to its install. The same
 * whether this module runs from source (`lib/`) or compiled (`.build/js/lib/`, `npm run build`).
 */
export const PROJECT_ROOT = resolve(here, basename(resolve(here, '../..')) === '.build' ? '../../..' : '..');
