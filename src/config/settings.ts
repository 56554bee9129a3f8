import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fields } from './fields.js';
import type { Settings } from './fields.js';
import { MIN_JWT_KEY_BYTES, bool, webhookKey } from './values.js';

export { fields } from './fields.js';
export type { Settings } from './fields.js';
export type { BusSetting, LogLevel, StoreSetting } from './values.js';
export { MIN_JWT_KEY_BYTES, webhookKey } from './values.js';

/** A bad setting: the message is one line naming the setting. */
export class SettingsError extends Error {
  override name = 'SettingsError';
}

type Source = Readonly<Record<string, string | undefined>>;

/** The one setting outside the table: where the others may come from (`--help` lists it too). */
export const configFileSetting = {
  flag: 'config',
  env: 'QUICKIM_CONFIG',
  doc: 'JSON file holding an object of settings; keys are the flag names (or the setting names).',
} as const;

const booleanFlags = new Set(fields.filter((f) => f.parse === bool).map((f) => `--${f.flag}`));

function readConfigFile(path: string): Source {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new SettingsError(
      `--config: cannot read ${path}: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SettingsError(`--config: ${path} must hold a JSON object`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) {
    const f = fields.find((x) => x.flag === k || x.key === k);
    if (!f) throw new SettingsError(`--config: unknown setting "${k}" in ${path}`);
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new SettingsError(`--${f.flag}: value in ${path} must be a string or a number`);
    }
    out[f.flag] = String(v);
  }
  return out;
}

/** The key in `path`, one trailing newline ignored; checked like `--jwt-key`. */
function readKeyFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new SettingsError(`--jwt-key-file: cannot read ${JSON.stringify(path)} (${code})`);
  }
  const key = text.replace(/\r?\n$/, '');
  if (Buffer.byteLength(key, 'utf8') < MIN_JWT_KEY_BYTES) {
    throw new SettingsError(
      `--jwt-key-file: the key in ${JSON.stringify(path)} must be at least ${MIN_JWT_KEY_BYTES} bytes`,
    );
  }
  return key;
}

/** The webhook secret in `path`, one trailing newline ignored; checked like `--webhook-secret`. */
function readWebhookSecretFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new SettingsError(`--webhook-secret-file: cannot read ${JSON.stringify(path)} (${code})`);
  }
  const secret = text.replace(/\r?\n$/, '');
  try {
    webhookKey(secret);
  } catch (err) {
    throw new SettingsError(
      `--webhook-secret-file: the secret in ${JSON.stringify(path)} ${(err as Error).message}`,
    );
  }
  return secret;
}

/** `--demo` alone means `--demo true`: a boolean flag followed by no value (or by a flag) gets one. */
function withBooleanValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    out.push(arg);
    if (!booleanFlags.has(arg)) continue;
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out.push('true');
  }
  return out;
}

/** Rewords a `parseArgs` failure to start with the flag it concerns, like every other SettingsError. */
function argvError(err: unknown): SettingsError {
  const message = (err as Error).message.split('\n')[0] ?? '';
  const code = (err as { code?: unknown }).code;
  const flag = /'(-[^'\s]*)/.exec(message)?.[1];
  if (flag && code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    return new SettingsError(`${flag}: unknown flag`);
  }
  if (flag && code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return new SettingsError(`${flag}: needs a value`);
  }
  return new SettingsError(message);
}

/**
 * Merges flag > environment > config file > default, validates every value and freezes the
 * result. Throws `SettingsError` with a one-line message naming the bad setting.
 */
export function loadSettings(argv: readonly string[], env: Source = process.env): Settings {
  let values: Record<string, unknown>;
  try {
    const options = Object.fromEntries([
      [configFileSetting.flag, { type: 'string' as const }],
      ...fields.map((f) => [f.flag, { type: 'string' as const }]),
    ]);
    values = parseArgs({
      args: withBooleanValues(argv),
      options,
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw argvError(err);
  }
  const flagPath = values[configFileSetting.flag];
  const configPath = typeof flagPath === 'string' ? flagPath : env[configFileSetting.env];
  const file = configPath ? readConfigFile(configPath) : {};
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const flagValue = values[f.flag];
    const text =
      (typeof flagValue === 'string' ? flagValue : undefined) ??
      env[f.env] ??
      file[f.flag] ??
      f.fallback;
    try {
      out[f.key] = f.parse(text);
    } catch (err) {
      // JSON.stringify escapes newlines in the value, keeping the message on one line.
      const shown = f.shown ? f.shown(text) : text;
      throw new SettingsError(
        `--${f.flag}: ${(err as Error).message} (got ${JSON.stringify(shown)})`,
      );
    }
  }
  if (out.jwtKeyFile !== undefined) {
    if (out.jwtKey !== undefined) {
      throw new SettingsError('--jwt-key-file: give --jwt-key or --jwt-key-file, not both');
    }
    out.jwtKey = readKeyFile(out.jwtKeyFile as string);
  }
  if (out.webhookSecretFile !== undefined) {
    if (out.webhookSecret !== undefined) {
      throw new SettingsError(
        '--webhook-secret-file: give --webhook-secret or --webhook-secret-file, not both',
      );
    }
    out.webhookSecret = readWebhookSecretFile(out.webhookSecretFile as string);
  }
  const settings = out as unknown as Settings;
  if (settings.webhookUrl !== undefined && settings.webhookSecret === undefined) {
    throw new SettingsError(
      '--webhook-secret: required with --webhook-url (or --webhook-secret-file)',
    );
  }
  if (settings.store.kind === 'postgres' && settings.jwtKey === undefined) {
    throw new SettingsError(
      '--jwt-key: the PostgreSQL store needs --jwt-key or --jwt-key-file (every node must sign with one key)',
    );
  }
  if (settings.bus.kind === 'nats' && settings.store.kind === 'sqlite') {
    throw new SettingsError(
      '--bus: a nats:// bus needs a shared store (--store postgres://…), not the embedded sqlite',
    );
  }
  return Object.freeze(settings);
}

/** Defaults for embedding and tests; `overrides` are already-typed values. */
export function defaultSettings(overrides: Partial<Settings> = {}): Settings {
  return Object.freeze({ ...loadSettings([], {}), ...overrides });
}
