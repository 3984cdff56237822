import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout this code runs from; DLRN's path defaults are relative to its install. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
