/**
 * Webhook POSTs over node:http/https, to public addresses only (the egress rules of pulls, egress.ts): the
 * host name is resolved and checked first and the request goes to the checked address (the TLS name stays
 * the host's). No redirects are followed; an answer's body is read and dropped (at most 64 KiB); the whole
 * request has a time limit.
 */
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import type { WebhookSender } from "../../pipeline/webhooks.js";
import { type Egress, resolveAllowed } from "./egress.js";

export const WEBHOOK_TIMEOUT_MS = 10_000;
const MAX_ANSWER = 64 * 1024;

export function webhookSender(egress: Egress, timeoutMs = WEBHOOK_TIMEOUT_MS): WebhookSender {
  return {
    async post(url, headers, body) {
      const target = new URL(url);
      const port = Number(target.port) || (target.protocol === "https:" ? 443 : 80);
      const host = target.hostname.replace(/^\[|\]$/g, "");
      const address = await resolveAllowed(host, port, egress);
      // The connection goes to the address checked above, whatever DNS would answer now.
      const lookup: LookupFunction = (_name, options, done) => {
        const family = address.includes(":") ? 6 : 4;
        if ((options as { all?: boolean }).all)
          (done as (e: null, a: object[]) => void)(null, [{ address, family }]);
        else done(null, address, family);
      };
      const client = target.protocol === "https:" ? https : http;
      return new Promise<number>((resolve, reject) => {
        const request = client.request(
          target,
          {
            method: "POST",
            headers: { ...headers, "content-length": Buffer.byteLength(body) },
            lookup,
            timeout: timeoutMs,
          },
          (answer) => {
            let read = 0;
            answer.on("data", (chunk: Buffer) => {
              read += chunk.length;
              if (read > MAX_ANSWER) answer.destroy();
            });
            answer.on("close", () => resolve(answer.statusCode ?? 0));
            answer.on("error", () => resolve(answer.statusCode ?? 0));
          },
        );
        const timer = setTimeout(
          () => request.destroy(new Error(`No answer within ${timeoutMs / 1000} s`)),
          timeoutMs,
        );
        request.on("close", () => clearTimeout(timer));
        request.on("timeout", () => request.destroy(new Error(`No answer within ${timeoutMs / 1000} s`)));
        request.on("error", reject);
        request.end(body);
      });
    },
  };
}
