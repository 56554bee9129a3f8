import { join } from 'node:path';
import { fields, loadSettings } from '../config/settings.js';
import type { BusSetting, Settings, StoreSetting } from '../config/settings.js';
import { KEY_FILE, readStoredKey } from '../services/token-service.js';
import { Exit, print } from './command.js';

type ConfigValue = string | number | boolean;

/** A setting's value as the config file takes it: a list comma-joined, a store or bus as its word or URL. */
function asText(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.join(',');
  const choice = value as StoreSetting | BusSetting;
  return 'url' in choice ? choice.url : choice.kind;
}

/**
 * Every setting keyed by its flag, in table order, as a `--config` file takes it; what the
 * table marks as not to be shown (`shown`: keys, secrets, credentials in URLs) is redacted.
 * Unset optional settings are `""`.
 */
export function effectiveConfig(settings: Settings): Record<string, ConfigValue> {
  const out: Record<string, ConfigValue> = {};
  for (const f of fields) {
    const value: unknown = settings[f.key];
    if (typeof value === 'number' || typeof value === 'boolean') {
      out[f.flag] = value;
      continue;
    }
    const text = asText(value);
    out[f.flag] = text !== '' && f.shown ? f.shown(text) : text;
  }
  return out;
}

/** Where the signing key comes from, without the key. */
function keySource(settings: Settings): string {
  if (settings.jwtKeyFile !== undefined) return `from ${settings.jwtKeyFile}`;
  if (settings.jwtKey !== undefined) return 'configured';
  const path = join(settings.dataDir, KEY_FILE);
  return readStoredKey(settings.dataDir) === undefined
    ? `generated into ${path} on first start`
    : `${path} (generated earlier)`;
}

/** The lines `check-config` prints under "ok". */
function summary(settings: Settings): string[] {
  const shown = effectiveConfig(settings);
  const store =
    settings.store.kind === 'sqlite'
      ? `sqlite in ${settings.dataDir}`
      : `postgres ${String(shown.store)}`;
  return [
    `listen    ${settings.host}:${settings.port}`,
    `store     ${store}`,
    `bus       ${String(shown.bus)}`,
    `jwt key   ${keySource(settings)}`,
    `webhooks  ${settings.webhookUrl === undefined ? 'off' : String(shown['webhook-url'])}`,
    `demo      ${settings.demo ? 'on' : 'off'}`,
  ];
}

/** `quick-im check-config`: loads and validates like `serve`, connects to nothing, starts nothing. */
export async function checkConfig(argv: readonly string[]): Promise<number> {
  const settings = loadSettings(argv);
  print(['ok', ...summary(settings).map((l) => `  ${l}`), ''].join('\n'));
  return Exit.Ok;
}

/** `quick-im print-config`: the effective settings as JSON, secrets redacted. */
export async function printConfig(argv: readonly string[]): Promise<number> {
  const settings = loadSettings(argv);
  print(`${JSON.stringify(effectiveConfig(settings), null, 2)}\n`);
  return Exit.Ok;
}
