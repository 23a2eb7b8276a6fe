/**
 * What the OpenAPI document needs beyond the zod schemas: an operationId for every operation (from its method
 * and path, stable as long as the route is), file bodies for routes that take or give raw bytes (a route says
 * so with `consumes` / `produces`), and named component schemas (the schemas registered with an id in
 * schemas.ts become `#/components/schemas/<id>` references).
 */
import type { FastifySchema, RouteOptions } from "fastify";
import { jsonSchemaTransform } from "fastify-type-provider-zod";

export { jsonSchemaTransformObject as openApiObject } from "fastify-type-provider-zod";

/**
 * An operation's id from its method and path: `GET /api/v1/connections/:id` → `getConnection`,
 * `GET …/connections/:id/transfers` → `getConnectionTransfers`, `POST /api/v1/connections` →
 * `createConnection`, `PATCH …` → `update…`, `DELETE …` → `delete…`, and an action at the end of a path is the
 * verb: `POST …/credentials/:id/reset-password` → `resetCredentialPassword`. Parameters other than `id` are
 * kept (`…ByToken`).
 */
export function operationIdOf(method: string, url: string): string {
  const parts = url
    .replace(/^\/api\/v1\//, "/")
    .split("/")
    .filter(Boolean);
  // A resource's own id (`:id`, or `:userId` after users) is dropped, and the resource named in the singular:
  // connections/:id → Connection; any other parameter is kept: downloads/:token → DownloadsByToken.
  const ownId = (param: string | undefined, resource: string) =>
    param === ":id" || param === `:${singular(resource)}Id`;
  const words = parts.map((p, i) => {
    if (p.startsWith(":")) return ownId(p, parts[i - 1] ?? "") ? "" : `By${pascal(p.slice(1))}`;
    return pascal(ownId(parts[i + 1], p) ? singular(p) : p);
  });
  const last = parts[parts.length - 1] ?? "";
  const named = words.join("");
  if (method === "GET") return `get${named}`;
  if (method === "PATCH" || method === "PUT") return `update${named}`;
  if (method === "DELETE") return `delete${named}`;
  if (isPlural(last)) return `create${words.slice(0, -1).join("")}${pascal(singular(last))}`;
  if (parts.length > 1 && !last.startsWith(":")) {
    // An action: reset-password → reset …Password.
    const [verb, ...rest] = last.split("-");
    return `${verb}${words.slice(0, -1).join("")}${pascal(rest.join("-"))}`;
  }
  return `${method.toLowerCase()}${named}`;
}

const pascal = (s: string) =>
  s
    .split(/[-_.{}]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join("");
const singular = (s: string) =>
  s.endsWith("ies") ? `${s.slice(0, -3)}y` : s.endsWith("s") ? s.slice(0, -1) : s;
const isPlural = (s: string) => s.endsWith("s") && !s.endsWith("ss");

const BINARY = { type: "string", format: "binary" };

type OpenApiSchema = FastifySchema & {
  operationId?: string;
  consumes?: string[];
  produces?: string[];
  summary?: string;
};

/** @fastify/swagger's transform: zod's, then operation ids and file bodies. */
export function openApiTransform(input: {
  schema: FastifySchema;
  url: string;
  route: RouteOptions;
  [key: string]: unknown;
}): { schema: FastifySchema; url: string } {
  const out = jsonSchemaTransform(input as never) as { schema: OpenApiSchema; url: string };
  const schema = out.schema;
  const method = String(Array.isArray(input.route.method) ? input.route.method[0] : input.route.method);
  schema.operationId ??= operationIdOf(method.toUpperCase(), input.route.url);
  if (schema.consumes?.includes("application/octet-stream") && !schema.body) schema.body = BINARY;
  if (schema.produces) {
    const response = (schema.response ?? {}) as Record<string, unknown>;
    response[200] = {
      description: schema.summary ?? "The file",
      content: Object.fromEntries(schema.produces.map((type) => [type, { schema: BINARY }])),
    };
    schema.response = response;
  }
  return out;
}
