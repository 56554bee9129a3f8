import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Which top-level folders of src/ each folder may import (DESIGN.md "Layout"): dependencies point
 * one way, `http, transports -> services, realtime -> store, bus -> domain`. `folder/file.js`
 * admits that one file of the folder only. app.ts and main.ts (the composition root) may import
 * anything, and only they pick concrete stores, buses and transports.
 */
const layers = {
  domain: [],
  config: ['domain'],
  store: ['domain'],
  bus: ['domain'],
  services: ['store', 'bus', 'domain'],
  realtime: ['bus', 'store', 'domain'],
  transports: ['realtime', 'domain'],
  // The notify route is handed transports by the composition root: it may know their interface.
  http: ['services', 'realtime', 'domain', 'config', 'observability', 'transports/transport.js'],
  demo: ['http/index.js', 'services', 'domain'],
  // The webhook worker reads the outbox through its interface and runs beside the services.
  webhooks: ['store', 'domain'],
  // Metrics implement the interfaces the core counts through (realtime's HubMetrics).
  observability: ['domain', 'config', 'realtime', 'webhooks'],
  // The `quick-im` command: it builds through the composition root, never a backend itself.
  cli: ['app', 'config', 'services', 'domain'],
};
const roots = [...Object.keys(layers), 'app', 'main'];

/** `no-restricted-imports` for the files of `folder` nested `depth` levels below src/. */
function importDirection(folder, allowed, depth) {
  const up = '\\.\\./'.repeat(depth);
  const whole = allowed.filter((a) => !a.includes('/'));
  const oneFile = allowed.filter((a) => a.includes('/')).map((a) => a.split('/'));
  const forbidden = roots.filter(
    (r) => r !== folder && !whole.includes(r) && !oneFile.some(([f]) => f === r),
  );
  const may = allowed.length > 0 ? allowed.join(', ') : 'nothing else of ours';
  const message = `src/${folder}/ may import ${may} (DESIGN.md, eslint.config.js layers).`;
  const patterns = [
    { regex: `^${up}(${forbidden.join('|')})(/|\\.js$)`, message },
    ...oneFile.map(([f, file]) => ({
      regex: `^${up}${f}/(?!${file.replaceAll('.', '\\.')}$)`,
      message,
    })),
    {
      regex: `^${up}(?!${folder}/)[a-z-]+/(.*/)?[a-z-]+-(store|bus|transport)\\.js$`,
      message: 'Only app.ts and main.ts pick concrete stores, buses and transports.',
    },
  ];
  return {
    files: [`src/${folder}/${'*/'.repeat(depth - 1)}*.ts`],
    ignores: ['src/**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns }] },
  };
}

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'dist/', 'bench/results/', 'packages/*/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  // Tests beside their file may wire concrete backends; they are not part of the layering.
  ...Object.entries(layers).flatMap(([folder, allowed]) =>
    [1, 2, 3].map((depth) => importDirection(folder, allowed, depth)),
  ),
  {
    // The demo page's plain browser modules.
    files: ['src/demo/public/**/*.js'],
    languageOptions: {
      globals: {
        document: 'readonly',
        fetch: 'readonly',
        localStorage: 'readonly',
        location: 'readonly',
        sessionStorage: 'readonly',
        setInterval: 'readonly',
        setTimeout: 'readonly',
      },
    },
  },
);
