import { buildApp } from './app.js';
import { SettingsError, loadSettings } from './config/settings.js';
import type { Settings } from './config/settings.js';

async function main(): Promise<void> {
  let settings: Settings;
  try {
    settings = loadSettings(process.argv.slice(2));
  } catch (err) {
    if (err instanceof SettingsError) {
      process.stderr.write(`quick-im: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  let app;
  try {
    app = await buildApp(settings);
  } catch (err) {
    process.stderr.write(`quick-im: ${(err as Error).message.split('\n')[0]}\n`);
    process.exit(1);
  }
  const address = await app.http.listen({ host: settings.host, port: settings.port });
  app.http.log.info({ address }, 'listening');

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    app.http.log.info({ signal }, 'shutting down');
    // app.close() finishes within the grace period; this only catches a close that hangs.
    const force = setTimeout(() => {
      app.http.log.error({ signal }, 'shutdown did not finish in time');
      process.exit(1);
    }, settings.shutdownGraceMs + 2000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.http.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`quick-im: ${(err as Error).message.split('\n')[0]}\n`);
  process.exit(1);
});
