/** `ferry audit`: the account's audit trail, filtered, as a table, JSON, or CSV (the API's export). */

import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Command } from "commander";
import { action, client, type Obj } from "./helpers.js";
import { printTable } from "./output.js";

export function registerAuditCommand(program: Command): void {
  program
    .command("audit")
    .description(
      "the account's audit trail: logins, uploads, downloads, changes, sign-ins, token use (newest first)",
    )
    .option("--since <time>", "at or after (ISO 8601)")
    .option("--until <time>", "before (ISO 8601)")
    .option(
      "--action <action>",
      "an action (credential.password_reset) or a kind ending in a dot (credential.)",
    )
    .option("--actor-type <type>", "user, token, credential or system")
    .option("--actor <id>", "who acted (user, token or credential id)")
    .option("--object-type <type>", "connection, credential, transfer…")
    .option("--object <id>", "what it was about")
    .option("--limit <n>", "how many events (1..200; default 50)", "50")
    .option("--csv", "every matching event as CSV, oldest first (to stdout)")
    .action(async (o: Obj, cmd: Command) => {
      const query = new URLSearchParams();
      for (const [key, flag] of [
        ["since", "since"],
        ["until", "until"],
        ["action", "action"],
        ["actorType", "actorType"],
        ["actorId", "actor"],
        ["objectType", "objectType"],
        ["objectId", "object"],
      ] as const) {
        if (o[flag] !== undefined) query.set(key, String(o[flag]));
      }
      if (o.csv) {
        const { api } = client(cmd);
        const response = await api.download(`/api/v1/audit.csv?${query}`);
        await pipeline(
          Readable.fromWeb(response.body as import("node:stream/web").ReadableStream),
          process.stdout,
        );
        return;
      }
      query.set("order", "desc");
      query.set("limit", String(o.limit));
      await action(
        async (api) => (await api.request<{ items: Obj[] }>("GET", `/api/v1/audit?${query}`)).items,
        (rows: Obj[]) =>
          printTable(rows, {
            at: "AT",
            action: "ACTION",
            actorType: "BY",
            actorId: "ACTOR",
            objectType: "ON",
            objectId: "OBJECT",
            ip: "IP",
          }),
      )(cmd);
    });
}
