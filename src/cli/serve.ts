import { buildApp, createLogger } from '../app.js';
import { loadSettings } from '../config/settings.js';
import { Exit, firstLine } from './command.js';
import type { Outcome } from './command.js';

/**
 * `quick-im serve`: builds the app, listens and shuts down gracefully on SIGTERM or SIGINT
 * (the process exits 0 once closed, 1 if closing fails or outlasts the grace period).
 */
export async function serve(argv: readonly string[]): Promise<Outcome> {
  const settings = loadSettings(argv);
  const logger = createLogger(settings.logLevel);
  let app;
  try {
    app = await buildApp(settings, { logger });
  } catch (err) {
    process.stderr.write(`quick-im: ${firstLine(err)}\n`);
    return Exit.Failure;
  }
  const address = await app.http.listen({ host: settings.host, port: settings.port });
  app.http.log.info({ address }, 'listening');
  // Written now, not with the next batch: whoever started the server may be waiting for it.
  logger.flush();

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    app.http.log.info({ signal }, 'shutting down');
    // app.close() finishes within the grace period; this only catches a close that hangs.
    const force = setTimeout(() => {
      app.http.log.error({ signal }, 'shutdown did not finish in time');
      process.exit(Exit.Failure);
    }, settings.shutdownGraceMs + 2000);
    force.unref();
    app.close().then(
      () => process.exit(Exit.Ok),
      (err: unknown) => {
        app.http.log.error({ err }, 'shutdown failed');
        process.exit(Exit.Failure);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return 'running';
}
