import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema, FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify';
import { createJsonSchemaTransform } from 'fastify-type-provider-zod';
import { z } from 'zod';
import packageJson from '../../package.json' with { type: 'json' };
import { DOCS_CSP_HEADER } from '../security/helmet';
import { errorBodySchema, streamEventSchema } from './response-schemas';

const OPENAPI_PATH = '/openapi.json';
const DOCS_PATH = '/docs';

const TAGS = [
  { name: 'chat', description: 'Ask, and read the answer as JSON or as a stream; resume, stop, regenerate, edit; history and usage.' },
  { name: 'threads', description: 'A user’s threads, search across them, and export.' },
  { name: 'auth', description: 'What the web client needs to sign in.' },
  { name: 'health', description: 'For load balancers and orchestrators.' },
] as const;

export type Tag = (typeof TAGS)[number]['name'];

/** A response as the document shows it: a description, and a zod schema per content type. */
export interface ResponseDoc {
  description: string;
  content: Record<string, { schema: z.ZodType }>;
}

/** One operation: every route in the document has a tag, which is what puts it there (`hideUntagged`). */
export interface OperationDoc extends FastifySchema {
  tags: [Tag];
  operationId: string;
  summary: string;
  response: Partial<Record<number, ResponseDoc>>;
}

/**
 * The routes validate with `parseInput` in their handlers, which answers in the API's own words and shape;
 * Fastify validating the same schemas first would answer differently (and would hand the handlers values
 * already transformed).
 */
const validateNothing: FastifySchemaCompiler<unknown> = () => () => true;
/** As a route without a response schema is answered: a schema must never drop or coerce a field. */
const serializeAsIs: FastifySerializerCompiler<unknown> = () => (data) => JSON.stringify(data);

/** Route options that put a route in the OpenAPI document while leaving its behaviour exactly as it was. */
export function documented(schema: OperationDoc) {
  return { schema, validatorCompiler: validateNothing, serializerCompiler: serializeAsIs };
}

export function jsonResponse(description: string, schema: z.ZodType): ResponseDoc {
  return { description, content: { 'application/json': { schema } } };
}

/** The turn routes' 200: the schema is that of one event's `data:` line, as SSE has no body schema of its own. */
export function eventStream(description: string): ResponseDoc {
  return {
    description:
      `${description} Server-sent events: each is an \`id: <turn id>:<seq>\` line and a \`data:\` line holding one StreamEvent as JSON, ` +
      'then a blank line; `: keep-alive` comments come while the turn is quiet. The schema is that of one `data:` line. ' +
      'A client that lost the stream resumes it with GET /chat/stream/{turnId} and `Last-Event-ID`.',
    content: { 'text/event-stream': { schema: streamEventSchema } },
  };
}

const ERROR_MEANINGS = {
  400: 'The input is refused: `VALIDATION` names the field in `details.field`; `INVALID_JSON` and `INVALID_UTF8` are bodies that cannot be read.',
  401: 'No bearer token, or one that is malformed, expired or not for this server. Sent with `WWW-Authenticate: Bearer`.',
  404: 'No such thread or turn; another user’s is the same 404.',
  409: 'This Idempotency-Key was already used for a different message.',
  413: 'The body is larger than the server’s BODY_LIMIT_BYTES.',
  415: 'The body was not sent as `application/json`.',
  429: 'A limit was hit: the lifetime or daily token quota (`QUOTA_EXCEEDED`) or the per-minute request limit (`RATE_LIMITED`). The message says which and when it resets; `Retry-After` gives the seconds to wait (none for the lifetime quota, which never resets).',
  503: 'The language model or the database is unavailable; try again shortly.',
} as const;

export type ErrorStatus = keyof typeof ERROR_MEANINGS;

/** The error responses a route can give, each the one error body. */
export function errors(...statuses: ErrorStatus[]): Partial<Record<ErrorStatus, ResponseDoc>> {
  // Every authenticated route counts against RATE_LIMIT_PER_MINUTE, so each can answer 429.
  const all = statuses.includes(401) && !statuses.includes(429) ? [...statuses, 429 as const] : statuses;
  return Object.fromEntries(all.map((status) => [status, jsonResponse(ERROR_MEANINGS[status], errorBodySchema)]));
}

/** Marks, between the per-route transform and the document's, an operation whose body may be left out. */
const OPTIONAL_BODY = 'x-fixthread-optional-body';

const toJsonSchemas = createJsonSchemaTransform({ skipList: [] });

/**
 * The document (`GET /openapi.json`) and its Swagger UI page (`/docs`, assets bundled, so it works offline).
 * Register it before the routes it describes: it learns them as they are added. Routes without a tag (tRPC,
 * the WebSocket, the web client, metrics) are left out.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'FixThread',
        version: packageJson.version,
        description:
          'The REST and SSE API of FixThread, a repair assistant. Every error is JSON `{"error": {"code", "message", "details"?}}`.',
      },
      servers: [{ url: '/', description: 'The server this document came from' }],
      tags: [...TAGS],
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearerAuth: [] }],
    },
    hideUntagged: true,
    convertConstToEnum: false,
    transform: (input) => {
      const transformed = toJsonSchemas(input);
      // A route without a schema (Fastify's types say otherwise) has none to transform; it is left out untagged.
      const body = (input.schema as FastifySchema | undefined)?.body;
      if (body instanceof z.ZodType && body.safeParse(undefined).success) {
        (transformed.schema as Record<string, unknown>)[OPTIONAL_BODY] = true;
      }
      return transformed;
    },
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject;
      const { openapiObject } = document;
      markOptionalBodies(openapiObject.paths ?? {});
      const components = (openapiObject.components ??= {}) as { schemas?: Record<string, object> };
      components.schemas = { ...components.schemas, ...namedSchemas() };
      return openapiObject;
    },
  });
  // Swagger UI styles itself inline, which the web client's policy refuses; these pages get their own.
  await app.register(fastifySwaggerUi, { routePrefix: DOCS_PATH, staticCSP: DOCS_CSP_HEADER });
  app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());
}

/** Fastify's swagger marks every body required; `.optional()` bodies (stop, regenerate, new thread) are not. */
function markOptionalBodies(paths: object): void {
  for (const path of Object.values(paths) as Record<string, Record<string, unknown>>[]) {
    for (const operation of Object.values(path)) {
      if (!(OPTIONAL_BODY in operation)) continue;
      delete operation[OPTIONAL_BODY];
      (operation.requestBody as { required: boolean }).required = false;
    }
  }
}

/** Every zod schema registered with an `id` (response-schemas.ts), as it is answered: the `$ref` targets. */
function namedSchemas(): Record<string, object> {
  const { schemas } = z.toJSONSchema(z.globalRegistry, {
    target: 'draft-2020-12',
    io: 'output',
    uri: (id) => `#/components/schemas/${id}`,
  });
  return Object.fromEntries(Object.entries(schemas).map(([id, { $schema: _dialect, $id: _id, ...schema }]) => [id, schema]));
}
