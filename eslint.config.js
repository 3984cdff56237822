// Lint keeps design.md's import directions true: workflows and lib/domain are deterministic and
// pure, lib holds no Temporal worker/workflow code, and the API never loads workflow code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';

const ioPackages = [
  'sequelize',
  'pg',
  'mysql2',
  'sqlite3',
  'umzug',
  'simple-git',
  'koa',
  '@koa/router',
  'mjml',
  'pino',
];

export default tseslint.config(
  { ignores: ['node_modules/', '.tools/', '.build/', 'data/', 'tmp/', 'test/fixtures/lint/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js', 'bin/*.js', 'api/static/*.js'] },
      },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
      'no-console': 'error',
    },
  },
  {
    // Deterministic code: no Node builtins, no I/O packages, only lib/domain and activity types.
    files: ['workflows/**/*.ts', 'lib/domain/**/*.ts'],
    rules: {
      'import-x/no-nodejs-modules': 'error',
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [...ioPackages, '@temporalio/activity', '@temporalio/worker', '@temporalio/client'],
          patterns: [
            {
              group: ['**/activities/**', '**/activities'],
              allowTypeImports: true,
              message: 'Workflows call activities through proxyActivities; import their types only.',
            },
            {
              group: ['**/lib/config/**', '**/lib/db/**', '**/lib/*.ts', '**/api/**', '**/cli/**'],
              message: 'Workflows and lib/domain may import lib/domain only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['lib/domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...ioPackages,
            '@temporalio/activity',
            '@temporalio/worker',
            '@temporalio/client',
            '@temporalio/workflow',
          ],
          patterns: [{ group: ['../**', '!./**'], message: 'lib/domain is self-contained.' }],
        },
      ],
    },
  },
  {
    // lib is shared by every process: no worker or workflow runtime in it.
    files: ['lib/**/*.ts'],
    ignores: ['lib/domain/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: ['@temporalio/worker', '@temporalio/workflow', '@temporalio/activity'],
          patterns: [
            {
              group: ['**/workflows/**', '**/activities/**', '**/api/**', '**/cli/**'],
              message: 'lib never imports upward.',
            },
          ],
        },
      ],
    },
  },
  {
    // The API starts workflows by name: workflow code only as types, activities not at all
    // (shared types live in lib/domain).
    files: ['api/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: ['@temporalio/worker', '@temporalio/workflow'],
          patterns: [
            {
              group: ['**/workflows/**'],
              allowTypeImports: true,
              message: 'Start workflows by name.',
            },
            { group: ['**/activities/**'], message: 'api never leans on activities, even for a type.' },
            { group: ['**/cli/**'], message: 'api never imports cli.' },
          ],
        },
      ],
    },
  },
  {
    files: ['activities/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/workflows/**', '**/api/**', '**/cli/**'], message: 'activities import lib only.' },
          ],
        },
      ],
    },
  },
  {
    // People-facing output lives in cli/output.ts and the test/bench scripts.
    files: ['cli/output.ts', 'scripts/**', 'bench/**', 'test/**', 'bin/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['bin/*.js', 'eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // Browser code of the API's pages: plain ES5 in a function, no imports.
    files: ['api/static/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      sourceType: 'script',
      globals: { document: 'readonly', fetch: 'readonly', window: 'readonly' },
    },
  },
);
