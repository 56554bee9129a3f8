#!/usr/bin/env node
// The `quick-im` command (package.json `bin`); `node dist/main.js [flags]` serves, as `npm start` does.
import { runCli } from './cli/cli.js';
import { Exit } from './cli/command.js';

const outcome = await runCli(process.argv.slice(2));
// A command that finished lets the process end by itself once its output is flushed; after a
// failure something may still hold the event loop (a half-open connection), so it exits now.
if (outcome === Exit.Failure) process.exit(outcome);
if (outcome !== 'running') process.exitCode = outcome;
