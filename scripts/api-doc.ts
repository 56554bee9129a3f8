// Writes docs/api.md from the OpenAPI document the server serves (`npm run docs:api`);
// test/e2e/openapi.test.ts fails while the committed page differs from what this renders.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { buildApp } from '../src/app.js';
import { defaultSettings } from '../src/config/settings.js';

export const API_DOC_PATH = fileURLToPath(new URL('../docs/api.md', import.meta.url));

type Schema = Record<string, unknown>;
type Doc = {
  info: { description: string };
  tags: { name: string; description: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
};
type Operation = {
  summary: string;
  description?: string;
  tags: string[];
  security: unknown[];
  parameters?: {
    name: string;
    in: string;
    required: boolean;
    description?: string;
    schema: Schema;
  }[];
  requestBody?: { required: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: Schema }> }>;
};

/** The OpenAPI document of a server with every optional route (the demo) on. */
export async function servedDocument(): Promise<Doc> {
  const dataDir = mkdtempSync(join(tmpdir(), 'quick-im-apidoc-'));
  const app = await buildApp(defaultSettings({ dataDir, logLevel: 'silent', demo: true }));
  try {
    const res = await app.http.inject({ method: 'GET', url: '/openapi.json' });
    return res.json() as Doc;
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const MSG_ID_PATTERN = '[2-9A-HJ-NP-Z]{5}-';

/** A schema as a short type expression: `{"MsgID": MsgId}`, `[MsgData]`, `string | null`. */
export function shape(schema: Schema): string {
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.split('/').pop() ?? '';
    return name;
  }
  if ('const' in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (Array.isArray(schema.oneOf)) return (schema.oneOf as Schema[]).map(shape).join(' or ');
  if (Array.isArray(schema.allOf)) {
    // The failure envelope narrowed to some codes.
    const [base, narrow] = schema.allOf as Schema[];
    const codes = ((narrow?.properties as Schema | undefined)?.code as Schema | undefined)?.enum;
    if (base && Array.isArray(codes)) return `${shape(base)} (code ${codes.join(', ')})`;
    return (schema.allOf as Schema[]).map(shape).join(' & ');
  }
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
  const nullable = types.includes('null');
  const type = types.find((t) => t !== 'null');
  let text: string;
  switch (type) {
    case 'object': {
      const props = (schema.properties ?? {}) as Record<string, Schema>;
      const required = (schema.required ?? []) as string[];
      const fields = Object.entries(props).map(
        ([k, v]) => `"${k}"${required.includes(k) ? '' : '?'}: ${shape(v)}`,
      );
      text = fields.length === 0 ? 'object' : `{${fields.join(', ')}}`;
      break;
    }
    case 'array':
      text = `[${shape((schema.items ?? {}) as Schema)}${schema.maxItems === undefined ? '' : ` ≤ ${String(schema.maxItems)}`}]`;
      break;
    case 'string':
      text = String(schema.pattern ?? '').includes(MSG_ID_PATTERN) ? 'MsgId' : 'string';
      if (schema.maxLength !== undefined) {
        text += ` (${String(schema.minLength ?? 0)}..${String(schema.maxLength)} chars)`;
      }
      break;
    case 'integer':
      text = 'integer';
      if (schema.minimum !== undefined && schema.maximum !== undefined) {
        text += ` (${String(schema.minimum)}..${String(schema.maximum)})`;
      }
      break;
    default:
      text = type ?? 'any';
  }
  return nullable ? `${text} | null` : text;
}

const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

function operationSection(method: string, path: string, op: Operation): string[] {
  const lines = [`### \`${method.toUpperCase()} ${path}\``, '', `${op.summary}.`, ''];
  if (op.description) lines.push(op.description, '');
  lines.push(
    op.security.length > 0
      ? 'Auth: a token (`Authorization: Bearer` or `?token=`).'
      : op.tags.includes('inner')
        ? 'Auth: none; addresses inside `--inner-allow` only.'
        : 'Auth: none.',
    '',
  );
  if (op.parameters?.length) {
    lines.push('| query parameter | required | type | meaning |', '| --- | --- | --- | --- |');
    for (const p of op.parameters) {
      lines.push(
        `| \`${p.name}\` | ${p.required ? 'yes' : 'no'} | ${cell(shape(p.schema))} | ${cell(p.description ?? '')} |`,
      );
    }
    lines.push('');
  }
  if (op.requestBody) {
    const schema = op.requestBody.content['application/json']?.schema ?? {};
    const optional = op.requestBody.required ? '' : ' (optional)';
    lines.push(`Body${optional}: \`${shape(schema)}\``, '');
  }
  lines.push('| status | answer |', '| --- | --- |');
  for (const [status, res] of Object.entries(op.responses)) {
    const bodies = Object.entries(res.content ?? {}).map(
      ([type, { schema }]) => `\`${type}\` \`${shape(schema)}\``,
    );
    const answer = [res.description, ...bodies].join(' ');
    lines.push(`| ${status} | ${cell(answer)} |`);
  }
  lines.push('');
  return lines;
}

/** docs/api.md as rendered from `doc`, formatted as the repository's prettier formats it. */
export async function renderApiMarkdown(doc: Doc): Promise<string> {
  const lines = [
    '# quick-im HTTP API',
    '',
    '<!-- Generated from GET /openapi.json by `npm run docs:api`; do not edit by hand. -->',
    '',
    'The machine-readable form of this page is `GET /openapi.json` (OpenAPI 3.1), with the ' +
      'request and answer schemas in full.',
    '',
    doc.info.description,
    '',
    '## Objects',
    '',
  ];
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    lines.push(`### ${name}`, '');
    if (typeof schema.description === 'string') lines.push(schema.description, '');
    lines.push(`\`${shape(schema)}\``, '');
  }
  for (const tag of doc.tags) {
    lines.push(`## ${tag.name[0]!.toUpperCase()}${tag.name.slice(1)} endpoints`, '');
    lines.push(tag.description, '');
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        if (op.tags.includes(tag.name)) lines.push(...operationSection(method, path, op));
      }
    }
  }
  const options = (await resolveConfig(API_DOC_PATH)) ?? {};
  return format(lines.join('\n'), { ...options, parser: 'markdown' });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(API_DOC_PATH, await renderApiMarkdown(await servedDocument()));
  process.stdout.write(`wrote ${API_DOC_PATH}\n`);
}
