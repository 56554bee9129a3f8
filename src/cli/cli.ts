import { SettingsError } from '../config/settings.js';
import { helpText } from './help.js';
import { Exit, UsageError, firstLine, print } from './command.js';
import type { Command, Outcome } from './command.js';
import { packageVersion } from './version.js';

/**
 * Every command, in the order `--help` lists them; the first is the default. Each is loaded
 * when run, so `--help` or `check-config` does not load the server.
 */
export const commands: readonly Command[] = [
  {
    name: 'serve',
    usage: '[serve] [settings]',
    summary: 'Start the server (the default command).',
    run: async (argv) => (await import('./serve.js')).serve(argv),
  },
  {
    name: 'check-config',
    usage: 'check-config [settings]',
    summary: 'Validate the settings without starting: exit 0 and a summary, or 2 and the error.',
    run: async (argv) => (await import('./config-commands.js')).checkConfig(argv),
  },
  {
    name: 'print-config',
    usage: 'print-config [settings]',
    summary:
      'Print the effective settings as JSON, keyed by flag (usable as a --config file), secrets redacted.',
    run: async (argv) => (await import('./config-commands.js')).printConfig(argv),
  },
  {
    name: 'gen-token',
    usage: 'gen-token --session S --platform P [settings]',
    summary:
      "Print a token for session S on platform P, signed with the configured key (SQLite without one: the data dir's key).",
    run: async (argv) => (await import('./gen-token.js')).genToken(argv),
  },
  {
    name: 'migrate',
    usage: 'migrate [settings]',
    summary: "Apply the store's pending schema migrations and exit.",
    run: async (argv) => (await import('./migrate.js')).migrate(argv),
  },
];

/** `--help` anywhere, or `help` as the command, prints the help; likewise for the version. */
const HELP = new Set(['--help', '-h']);
const VERSION = new Set(['--version']);

/**
 * Runs the command `argv` names (`process.argv.slice(2)`); a first word that is a flag means
 * `serve`, so `node dist/main.js --port 9000` serves as before. `--help` or `--version`
 * anywhere prints and exits 0.
 */
export async function runCli(argv: readonly string[]): Promise<Outcome> {
  try {
    if (argv[0] === 'help' || argv.some((a) => HELP.has(a))) {
      print(helpText(commands, packageVersion()));
      return Exit.Ok;
    }
    if (argv[0] === 'version' || argv.some((a) => VERSION.has(a))) {
      print(`quick-im ${packageVersion()}\n`);
      return Exit.Ok;
    }
    const [first] = argv;
    const named = first !== undefined && !first.startsWith('-');
    const command = named ? commands.find((c) => c.name === first) : (commands[0] as Command);
    if (command === undefined) {
      throw new UsageError(`unknown command ${JSON.stringify(first)} (quick-im --help lists them)`);
    }
    return await command.run(named ? argv.slice(1) : argv);
  } catch (err) {
    const usage = err instanceof SettingsError || err instanceof UsageError;
    process.stderr.write(`quick-im: ${firstLine(err)}\n`);
    return usage ? Exit.Usage : Exit.Failure;
  }
}
