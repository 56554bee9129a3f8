import { pino } from 'pino';
import { migrateStore } from '../app.js';
import { loadSettings } from '../config/settings.js';
import { Exit, print } from './command.js';
import { effectiveConfig } from './config-commands.js';

/**
 * `quick-im migrate`: applies the store's pending schema migrations (SQLite: creating the data
 * directory and database when new) and exits; the server does the same at start, so this is
 * for running them once before starting nodes. Logs go to stderr, the result to stdout.
 */
export async function migrate(argv: readonly string[]): Promise<number> {
  const settings = loadSettings(argv);
  const logger = pino(
    { level: settings.logLevel, base: { service: 'quick-im' } },
    pino.destination(2),
  );
  await migrateStore(settings, logger);
  const where =
    settings.store.kind === 'sqlite'
      ? `sqlite store in ${settings.dataDir}`
      : `postgres store ${String(effectiveConfig(settings).store)}`;
  print(`ok: ${where} is migrated\n`);
  return Exit.Ok;
}
