import { configFileSetting, fields } from '../config/settings.js';
import type { Command } from './command.js';

const WIDTH = 80;

/** `text` as lines of at most `WIDTH` characters (a longer word stands alone), each indented. */
function wrap(text: string, indent: number): string[] {
  const pad = ' '.repeat(indent);
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && pad.length + line.length + 1 + word.length > WIDTH) {
      lines.push(pad + line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(pad + line);
  return lines;
}

/** The docs are Markdown (the README table shares them); a terminal shows them without backticks. */
function plain(doc: string): string {
  return doc.replaceAll('`', '');
}

/** One setting: its flag and variable, then its default and doc, indented. */
function settingLines(flag: string, env: string, value: string, after: string): string[] {
  return [`  --${flag} ${value}`.padEnd(38) + ` ${env}`, ...wrap(plain(after), 6)];
}

/** The whole `--help` text, generated from the command list and the settings table. */
export function helpText(commands: readonly Command[], version: string): string {
  const usages = commands.flatMap((c) => [`  quick-im ${c.usage}`, ...wrap(c.summary, 6)]);
  const settings = [
    ...settingLines(configFileSetting.flag, configFileSetting.env, '<file>', configFileSetting.doc),
    ...fields.flatMap((f) =>
      settingLines(
        f.flag,
        f.env,
        '<value>',
        `${f.fallback === '' ? 'Default: none.' : `Default: ${f.fallback}.`} ${f.doc}`,
      ),
    ),
  ];
  return [
    `quick-im ${version}: a real-time messaging server (conversations, durable messages, push).`,
    '',
    'Usage:',
    ...usages,
    '  quick-im --help | --version',
    '',
    'Settings: each from its flag, else its environment variable, else the --config file,',
    'else its default. A bad one stops the command with exit status 2 and a one-line error.',
    '',
    ...settings,
    '',
  ].join('\n');
}
