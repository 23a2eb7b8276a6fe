/** `ferry pgp-keys`: the account's OpenPGP key pairs (generated here, public key exported) and partners' keys. */
import { readFile, writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { action, client, type Obj } from "./helpers.js";
import { printObject, printTable } from "./output.js";

const expiry = (k: Obj) =>
  k.expiresAt
    ? `${String(k.expiresAt).slice(0, 10)}${k.expiry === "expired" ? " (EXPIRED)" : k.expiry === "expiring" ? " (expires soon)" : ""}`
    : "never";

const printKeys = (body: { items: Obj[] }) =>
  printTable(
    body.items.map((k) => ({
      ...k,
      expires: expiry(k),
      usedBy: (k.usedBy as { name: string }[]).map((c) => c.name).join(", "),
    })),
    {
      id: "ID",
      kind: "KIND",
      name: "NAME",
      fingerprint: "FINGERPRINT",
      algorithm: "ALGORITHM",
      expires: "EXPIRES",
      status: "STATUS",
      usedBy: "USED BY",
    },
  );

const printKey = (k: Obj) =>
  printObject({
    id: k.id,
    kind: k.kind,
    name: k.name,
    fingerprint: k.fingerprint,
    algorithm: k.algorithm,
    userIds: (k.userIds as string[]).join("; "),
    expires: expiry(k),
    status: k.status,
  });

export function registerPgpKeyCommands(program: Command): void {
  const keys = program
    .command("pgp-keys")
    .description(
      "OpenPGP keys: the account's own key pairs (partners encrypt to them) and partners' public keys",
    );
  keys
    .command("list")
    .description("the account's keys, with fingerprints, expiry and the connections using them")
    .action(action((api) => api.request("GET", "/api/v1/pgp-keys"), printKeys));
  keys
    .command("create <name>")
    .description("generate a key pair for the account (the private key never leaves Ferry)")
    .option("--algorithm <type>", "curve25519, rsa3072 or rsa4096", "curve25519")
    .option("--expires-in-days <days>", "days until it expires (default 730); 0: never", (v) => Number(v))
    .action(
      action(
        (api, name: string, o: Obj) =>
          api.request("POST", "/api/v1/pgp-keys", {
            name,
            algorithm: o.algorithm,
            ...(o.expiresInDays !== undefined
              ? { expiresInDays: o.expiresInDays === 0 ? null : o.expiresInDays }
              : {}),
          }),
        (k: Obj) => {
          printKey(k);
          process.stdout.write(`\nGive partners its public key: ferry pgp-keys export ${k.id}\n`);
        },
      ),
    );
  keys
    .command("import <name> <file>")
    .description("add a partner's public key from an armored file (gpg --armor --export …; - for stdin)")
    .action(
      action(
        async (api, name: string, file: string) =>
          api.request("POST", "/api/v1/pgp-keys/partner", {
            name,
            publicKey: file === "-" ? await readStdin() : await readFile(file, "utf8"),
          }),
        printKey,
      ),
    );
  keys
    .command("export <id>")
    .description("a key's public key, armored: give it to the partner (gpg --import)")
    .option("-o, --output <file>", "write it to a file instead of stdout")
    .action(async (id: string, o: Obj, cmd: Command) => {
      const { api } = client(cmd);
      const response = await api.download(`/api/v1/pgp-keys/${encodeURIComponent(id)}/public`);
      const text = await response.text();
      if (o.output) {
        await writeFile(o.output as string, text, { flag: "wx" });
        process.stderr.write(`saved ${o.output}\n`);
      } else process.stdout.write(text);
    });
  for (const [name, status, description] of [
    [
      "retire",
      "retired",
      "stop using a key (own: no longer decrypts or signs; partner: not if a connection uses it)",
    ],
    ["reactivate", "active", "use a retired key again"],
  ] as const) {
    keys
      .command(`${name} <id>`)
      .description(description)
      .action(
        action(
          (api, id: string) => api.request("PATCH", `/api/v1/pgp-keys/${encodeURIComponent(id)}`, { status }),
          printKey,
        ),
      );
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
