import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Shared flat config: type-aware rules so floating promises and unsafe `any` are caught. */
export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.turbo/**', '**/*.config.*'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true } },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
      // Configuration is validated in one env.ts per app; nothing else reads the environment.
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through the app\'s env.ts.' },
      ],
    },
  },
  {
    files: ['**/env.ts', '**/*.test.ts', '**/test/support/**', '**/bench/**', '**/e2e/**', '**/vite.config.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
