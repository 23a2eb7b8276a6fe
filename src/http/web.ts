/**
 * The web UI: the production build of web/ (React + Vite), served from `root` on the API's port. Hashed
 * assets are cached for a year; every other GET outside the API answers index.html, so that the app's own
 * routes (e.g. /connections/…) survive a reload.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import { notFound } from "../domain/errors.js";

/** Where `npm run build` puts the UI: dist/web, next to the compiled server. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL("../web", import.meta.url));

const NOT_UI = /^\/(api|downloads|healthz|livez|readyz|metrics)(\/|$|\?)/;

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
};

/** Serves the UI when it is built; returns whether it was found. */
export async function installWeb(app: FastifyInstance, root: string): Promise<boolean> {
  if (!existsSync(join(root, "index.html"))) return false;
  await app.register(fastifyStatic, {
    root,
    prefix: "/",
    wildcard: false,
    index: false,
    setHeaders: (res, path) => {
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.header(k, v);
      res.header(
        "cache-control",
        path.includes(`${join(root, "assets")}`) ? "public, max-age=31536000, immutable" : "no-cache",
      );
    },
  });
  app.get("/*", { schema: { hide: true } }, async (request, reply) => {
    if (NOT_UI.test(request.url)) throw notFound(`Route GET ${request.url.split("?")[0]}`);
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    return reply.header("cache-control", "no-cache").sendFile("index.html");
  });
  app.get("/", { schema: { hide: true } }, async (_request, reply) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    return reply.header("cache-control", "no-cache").sendFile("index.html");
  });
  return true;
}
