#!/usr/bin/env node
// The `quick-im` command (package.json `bin`); `node dist/main.js [flags]` serves, as `npm start` does.
import { runCli } from './cli/cli.js';
import { Exit } from './cli/command.js';

const outcome = await runCli(process.argv.slice(2));
// A command that succeeded lets the process end by itself, once its output is flushed; after a
// failure (reported on stderr) something may still hold the event loop, so it exits now.
if (outcome === Exit.Ok) process.exitCode = outcome;
else if (outcome !== 'running') process.exit(outcome);
