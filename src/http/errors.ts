/** The one error handler: known errors become their response; anything else is logged and answered as a bare 500. */
import type { FastifyError, FastifyInstance } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { isDatabaseUnavailable } from "../db/pool.js";
import { DomainError, type ErrorCode, type FieldError } from "../domain/errors.js";

const STATUS: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  TOO_MANY_REQUESTS: 429,
  // RFC 4918's "Insufficient Storage": the file cannot be stored until files are removed or the quota grows.
  QUOTA_EXCEEDED: 507,
};

function body(code: string, message: string, requestId: string, fields?: FieldError[]) {
  return { error: { code, message, ...(fields?.length ? { fields } : {}), requestId } };
}

/** The field path of one schema validation issue: `/details/port` in the body becomes `details.port`. */
function fieldPath(context: string | undefined, instancePath: string, key?: string): string {
  const parts = instancePath.split("/").filter(Boolean);
  if (key) parts.push(key);
  const path = parts.join(".");
  return context === "body" || !context ? path || "(body)" : path ? `${context}.${path}` : context;
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof DomainError) {
      return reply.status(STATUS[err.code]).send(body(err.code, err.message, request.id, err.fields));
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const fields: FieldError[] = [];
      for (const v of err.validation) {
        const keys = (v.params as { keys?: string[] }).keys;
        if (v.keyword === "unrecognized_keys" && keys) {
          for (const key of keys) {
            fields.push({
              path: fieldPath(err.validationContext, v.instancePath, key),
              message: "is not a known field",
            });
          }
        } else {
          fields.push({
            path: fieldPath(err.validationContext, v.instancePath),
            message: v.message ?? "is invalid",
          });
        }
      }
      const first = fields[0];
      const message =
        fields.length === 1 && first
          ? `${first.path}: ${first.message}`
          : `${fields.length} fields are invalid`;
      return reply.status(400).send(body("VALIDATION_FAILED", message, request.id, fields));
    }
    // Fastify's own client errors (malformed JSON, wrong content type, body too large): safe to repeat.
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      const code =
        err.statusCode === 413
          ? "PAYLOAD_TOO_LARGE"
          : err.statusCode === 415
            ? "UNSUPPORTED_MEDIA_TYPE"
            : "BAD_REQUEST";
      return reply.status(err.statusCode).send(body(code, err.message, request.id));
    }
    if (isDatabaseUnavailable(err)) {
      request.log.warn({ err }, "database unavailable");
      return reply
        .status(503)
        .header("retry-after", "5")
        .send(
          body("UNAVAILABLE", "Ferry cannot reach its database right now; try again shortly", request.id),
        );
    }
    request.log.error({ err }, "request failed");
    return reply
      .status(500)
      .send(body("INTERNAL", "Internal server error; quote the request id when reporting it", request.id));
  });

  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send(body("NOT_FOUND", `No route ${request.method} ${request.url.split("?")[0]}`, request.id)),
  );
}
