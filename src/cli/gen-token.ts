import { join } from 'node:path';
import { loadSettings } from '../config/settings.js';
import { systemClock } from '../domain/clock.js';
import { ImError } from '../domain/errors.js';
import { KEY_FILE, TokenService, readStoredKey } from '../services/token-service.js';
import { Exit, UsageError, print } from './command.js';

/**
 * Takes `--name value` and `--name=value` for each of `names` out of `argv`; the rest are
 * settings. A name given twice keeps its last value, as settings flags do.
 */
export function takeFlags(
  argv: readonly string[],
  names: readonly string[],
): { taken: Map<string, string>; rest: string[] } {
  const taken = new Map<string, string>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const match = /^--([^=]+)(?:=(.*))?$/s.exec(arg);
    const name = match?.[1];
    if (name === undefined || !names.includes(name)) {
      rest.push(arg);
      continue;
    }
    const value = match?.[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${name}: needs a value`);
    taken.set(name, value);
  }
  return { taken, rest };
}

/** The key tokens are signed with: the configured one, else the one a SQLite node generated. */
function signingKey(jwtKey: string | undefined, dataDir: string): string {
  if (jwtKey !== undefined) return jwtKey;
  const stored = readStoredKey(dataDir);
  if (stored !== undefined) return stored;
  throw new UsageError(
    `--jwt-key: none configured and no generated key in ${join(dataDir, KEY_FILE)} (start the server once with this --data-dir, or give --jwt-key)`,
  );
}

/**
 * `quick-im gen-token --session S --platform P`: prints a token the server with the same
 * settings accepts (same key, `--token-ttl`). Without a configured key only a SQLite node's
 * generated key will do; the PostgreSQL store requires one (`loadSettings` refuses without).
 */
export async function genToken(argv: readonly string[]): Promise<number> {
  const { taken, rest } = takeFlags(argv, ['session', 'platform']);
  const settings = loadSettings(rest);
  const session = taken.get('session');
  if (session === undefined)
    throw new UsageError('--session: required (gen-token --session S --platform P)');
  const platformText = taken.get('platform');
  if (platformText === undefined)
    throw new UsageError('--platform: required (gen-token --session S --platform P)');
  if (!/^\d+$/.test(platformText)) {
    throw new UsageError(
      `--platform: must be a non-negative integer (got ${JSON.stringify(platformText)})`,
    );
  }
  const tokens = new TokenService(
    signingKey(settings.jwtKey, settings.dataDir),
    settings.tokenTtlSec,
    systemClock,
  );
  let token: string;
  try {
    token = await tokens.issue(session, Number(platformText));
  } catch (err) {
    if (err instanceof ImError) throw new UsageError(`--session, --platform: ${err.message}`);
    throw err;
  }
  print(`${token}\n`);
  return Exit.Ok;
}
