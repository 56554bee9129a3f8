import type { FastifyInstance } from 'fastify';
import { ErrorCode, errorSpecs } from '../domain/errors.js';
import { sharedSchemas } from './response-schemas.js';

// `GET /openapi.json`: an OpenAPI 3.1 document built from the routes as registered. Request
// bodies are the schemas Fastify validates with (read in `onRoute`); each route's `config.docs`
// gives its answers. A route without docs stops the start, so the document cannot fall behind.

/** One answer other than the envelope (probes, text, push streams). */
export interface ResponseDoc {
  readonly description: string;
  /** Media type → schema; absent: no body. */
  readonly content?: Readonly<Record<string, object>>;
}

/** What the document says of one route, beside its request schema. */
export interface RouteDocs {
  readonly summary: string;
  readonly description?: string;
  /**
   * Who may call: `token` a bearer token (public endpoints), `inner` the `--inner-allow`
   * gate, `open` anyone.
   */
  readonly access: 'token' | 'inner' | 'open';
  /** The success envelope's `data` schema; `null`: `{"code":0}` with no `data`. */
  readonly data?: object | null;
  /** Answers that are not the envelope, by HTTP status. */
  readonly responses?: Readonly<Record<string, ResponseDoc>>;
  /** Failure codes this route answers beside those every route of its access does. */
  readonly errors?: readonly ErrorCode[];
  /** Query parameters, as an object schema (`properties`, `required`). */
  readonly query?: object;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's entry in `GET /openapi.json` (required on every route). */
    docs?: RouteDocs;
    /** Answered while shutdown drains (the probes); every other route answers 503 then. */
    answersWhileDraining?: boolean;
  }
}

interface RegisteredRoute {
  readonly method: string;
  readonly url: string;
  readonly body: unknown;
  readonly docs: RouteDocs | undefined;
  readonly answersWhileDraining: boolean;
}

/** Codes every route of an access level may answer (bad input, token, gate, internal). */
const accessErrors: Readonly<Record<RouteDocs['access'], readonly ErrorCode[]>> = {
  token: [ErrorCode.InvalidParameter, ErrorCode.Unauthorized, ErrorCode.Internal],
  inner: [ErrorCode.InvalidParameter, ErrorCode.InnerForbidden, ErrorCode.Internal],
  open: [],
};

const errorBodySchema = {
  type: 'object',
  description: 'The failure envelope: a non-zero code and a human-readable error, no data.',
  properties: {
    code: { type: 'integer', enum: Object.values(ErrorCode) },
    error: { type: 'string', minLength: 1 },
  },
  required: ['code', 'error'],
  additionalProperties: false,
} as const;

/** The HTTP statuses a code is answered with (10002: 500, or 503 while a backend is down). */
function statusesOf(code: ErrorCode): number[] {
  return code === ErrorCode.Internal ? [500, 503] : [errorSpecs[code].status];
}

const json = (schema: object) => ({ 'application/json': { schema } });

function successEnvelope(data: object | null): object {
  if (data === null) {
    return {
      type: 'object',
      properties: { code: { const: 0 } },
      required: ['code'],
      additionalProperties: false,
    };
  }
  return {
    type: 'object',
    properties: { code: { const: 0 }, data },
    required: ['code', 'data'],
    additionalProperties: false,
  };
}

function errorResponse(status: number, codes: readonly ErrorCode[]): object {
  const described = codes.map((c) => `${c} ${errorSpecs[c].message}`).join('; ');
  return {
    description: `Failure: ${described}.`,
    ...(status === 429 ? { headers: { 'Retry-After': { schema: { type: 'integer' } } } } : {}),
    content: json({
      allOf: [
        { $ref: '#/components/schemas/ErrorBody' },
        { properties: { code: { enum: [...codes] } } },
      ],
    }),
  };
}

/** Merges two answers for one status: either body may come. */
function either(a: Record<string, unknown>, b: Record<string, unknown>): object {
  const content: Record<string, { schema: object }> = {};
  const ac = (a.content ?? {}) as Record<string, { schema: object }>;
  const bc = (b.content ?? {}) as Record<string, { schema: object }>;
  for (const type of new Set([...Object.keys(ac), ...Object.keys(bc)])) {
    const schemas = [ac[type]?.schema, bc[type]?.schema].filter((s) => s !== undefined);
    content[type] = { schema: schemas.length === 1 ? schemas[0]! : { oneOf: schemas } };
  }
  return { description: `${String(a.description)} Or: ${String(b.description)}`, content };
}

function responsesOf(route: RegisteredRoute, docs: RouteDocs): Record<string, object> {
  const out: Record<string, Record<string, unknown>> = {};
  if (docs.data !== undefined) {
    out['200'] = { description: 'Success.', content: json(successEnvelope(docs.data)) };
  }
  for (const [status, doc] of Object.entries(docs.responses ?? {})) {
    out[status] = { ...doc, ...(doc.content ? { content: mediaTypes(doc.content) } : {}) };
  }
  const codes = new Set([...accessErrors[docs.access], ...(docs.errors ?? [])]);
  // A body may be malformed or over --max-body-bytes.
  if (route.body !== undefined) codes.add(ErrorCode.InvalidParameter).add(ErrorCode.TooLarge);
  if (!route.answersWhileDraining) codes.add(ErrorCode.Internal);
  // A route that fails only by draining answers 10002 with 503, never 500.
  const fails = [...accessErrors[docs.access], ...(docs.errors ?? [])].includes(ErrorCode.Internal);
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    for (const status of statusesOf(code)) {
      if (status === 500 && !fails) continue;
      byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
    }
  }
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const failure = errorResponse(status, list) as Record<string, unknown>;
    const key = String(status);
    const own = out[key];
    out[key] = own === undefined ? failure : (either(own, failure) as Record<string, unknown>);
  }
  return out;
}

function mediaTypes(content: Readonly<Record<string, object>>): object {
  return Object.fromEntries(Object.entries(content).map(([type, schema]) => [type, { schema }]));
}

interface ObjectSchema {
  readonly properties?: Readonly<Record<string, object>>;
  readonly required?: readonly string[];
}

function queryParameters(query: object): object[] {
  const { properties = {}, required = [] } = query as ObjectSchema;
  return Object.entries(properties).map(([name, schema]) => {
    const { description, ...rest } = schema as { description?: string };
    return {
      name,
      in: 'query',
      required: required.includes(name),
      ...(description === undefined ? {} : { description }),
      schema: rest,
    };
  });
}

/** A body schema that admits `null` (or no body) makes the body optional. */
function bodyIsOptional(body: unknown): boolean {
  const type = (body as { type?: unknown }).type;
  return Array.isArray(type) && type.includes('null');
}

/** `/demo/*` → `/demo/{file}`, `/x/:id` → `/x/{id}`. */
function openApiPath(url: string): { path: string; params: string[] } {
  const params: string[] = [];
  const path = url
    .replace(/:(\w+)/g, (_m, name: string) => {
      params.push(name);
      return `{${name}}`;
    })
    .replace(/\*$/, () => {
      params.push('file');
      return '{file}';
    });
  return { path, params };
}

function operationOf(route: RegisteredRoute, docs: RouteDocs, path: string, params: string[]) {
  const parameters = [
    ...params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
    ...(docs.query ? queryParameters(docs.query) : []),
  ];
  const name = path.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return {
    operationId: `${route.method.toLowerCase()}_${name || 'root'}`,
    summary: docs.summary,
    ...(docs.description === undefined ? {} : { description: docs.description }),
    tags: [docs.access === 'token' ? 'public' : docs.access],
    ...(docs.access === 'token'
      ? { security: [{ bearerToken: [] }, { queryToken: [] }] }
      : { security: [] }),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body === undefined
      ? {}
      : {
          requestBody: {
            required: !bodyIsOptional(route.body),
            content: json(route.body as object),
          },
        }),
    responses: responsesOf(route, docs),
  };
}

const errorTable = [
  '| code | HTTP | meaning |',
  '| ---- | ---- | ------- |',
  ...Object.values(ErrorCode).map((code) => {
    const status = statusesOf(code).join(' or ');
    return `| ${code} | ${status} | ${errorSpecs[code].message} |`;
  }),
].join('\n');

const apiDescription = `## Envelope

Every JSON endpoint answers the success envelope \`{"code":0,"data":…}\` (HTTP 200; without
\`data\` where there is none) or the failure envelope \`{"code":<non-zero>,"error":"…"}\` with
the HTTP status of its code. Field names are case-sensitive: requests use \`snake_case\`,
answers \`PascalCase\`. Unknown routes and wrong methods answer 404 / 10404 before any token
check; request headers over 16 KiB answer 431 / 10001, a request not whole within
\`--request-timeout-ms\` 408 / 10001. 10002 is 503 while the store or bus is unavailable, and
on every route but \`/livez\` and \`/readyz\` while the server shuts down.

${errorTable}

## Access

Public endpoints take a token as \`Authorization: Bearer <token>\` or \`?token=<token>\` and
allow any origin (CORS). \`/inner/*\`, \`/metrics\` and \`/demo/token\` answer only addresses
inside \`--inner-allow\` (loopback by default), never a request with an \`Origin\` header, and
never one forwarded by a proxy outside \`--trust-proxy\` (403 / 10003).`;

/** Records every route registered from now on; call before registering them. */
export class ApiRoutes {
  private readonly routes: RegisteredRoute[] = [];

  constructor(app: FastifyInstance) {
    app.addHook('onRoute', (options) => {
      const methods = Array.isArray(options.method) ? options.method : [options.method];
      for (const method of methods) {
        // Fastify adds a HEAD route for every GET; the GET documents both.
        if (method === 'HEAD') continue;
        this.routes.push({
          method,
          url: options.url,
          body: (options.schema as { body?: unknown } | undefined)?.body,
          docs: options.config?.docs,
          answersWhileDraining: options.config?.answersWhileDraining === true,
        });
      }
    });
  }

  /** The OpenAPI 3.1 document; throws naming any route registered without docs. */
  document(version: string): object {
    const undocumented = this.routes.filter((r) => r.docs === undefined);
    if (undocumented.length > 0) {
      const names = undocumented.map((r) => `${r.method} ${r.url}`).join(', ');
      throw new Error(`routes without config.docs (src/http/openapi.ts): ${names}`);
    }
    const paths: Record<string, Record<string, object>> = {};
    for (const route of this.routes) {
      const { path, params } = openApiPath(route.url);
      paths[path] = {
        ...paths[path],
        [route.method.toLowerCase()]: operationOf(route, route.docs!, path, params),
      };
    }
    return {
      openapi: '3.1.0',
      info: {
        title: 'quick-im',
        version,
        description: apiDescription,
        license: { name: 'MIT', identifier: 'MIT' },
      },
      jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
      tags: [
        { name: 'public', description: 'Token-protected endpoints; any origin may call them.' },
        { name: 'inner', description: "The product backend's endpoints (`--inner-allow`)." },
        { name: 'open', description: 'Probes, metrics, push and this document.' },
      ],
      paths,
      components: {
        schemas: { ...sharedSchemas, ErrorBody: errorBodySchema },
        securitySchemes: {
          bearerToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          queryToken: { type: 'apiKey', in: 'query', name: 'token' },
        },
      },
    };
  }
}

/** `GET /openapi.json`, built once, after every route is registered (at `ready`). */
export function registerOpenApiRoute(app: FastifyInstance, routes: ApiRoutes, version: string) {
  let body: string | undefined;
  app.addHook('onReady', (done) => {
    try {
      body = JSON.stringify(routes.document(version));
      done();
    } catch (err) {
      done(err as Error);
    }
  });
  app.get('/openapi.json', {
    config: {
      docs: {
        summary: 'This API as an OpenAPI 3.1 document',
        access: 'open',
        responses: {
          '200': {
            description: 'The document.',
            content: { 'application/json': { type: 'object', required: ['openapi'] } },
          },
        },
      },
    },
    handler: (_request, reply) => reply.type('application/json; charset=utf-8').send(body),
  });
}
