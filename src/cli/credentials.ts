/** CLI commands for credentials (passwords shown once, public keys), through the REST API. */
import { type Command, InvalidArgumentError } from "commander";
import { action, allPages, choice, fileArg, type Obj } from "./helpers.js";
import { printObject, printTable } from "./output.js";

function secretNotice(c: Obj): void {
  printObject({
    id: c.id,
    name: c.name,
    kind: c.kind,
    username: c.username,
    fingerprint: c.fingerprint ?? undefined,
  });
  if (c.password) {
    process.stdout.write(`password: ${c.password}\n\nCopy the password now: it is never shown again.\n`);
  }
}

export function registerCredentialCommands(program: Command): void {
  const credentials = program
    .command("credentials")
    .description("logins for SFTP/FTP: passwords and public keys");
  credentials
    .command("create")
    .description("create a credential (a generated password is shown once)")
    .requiredOption("--name <name>", "describe its use case")
    .addOption(
      choice("--kind <kind>", "password or public_key", ["password", "public_key"]).makeOptionMandatory(),
    )
    .option("--public-key <key>", "the public key text (kind public_key)")
    .option("--public-key-file <file>", "file holding the public key, e.g. ~/.ssh/id_ed25519.pub", fileArg)
    .action(
      action(
        (api, o: Obj) =>
          api.request("POST", "/api/v1/credentials", {
            name: o.name,
            kind: o.kind,
            ...((o.publicKeyFile ?? o.publicKey) !== undefined
              ? { publicKey: o.publicKeyFile ?? o.publicKey }
              : {}),
          }),
        secretNotice,
      ),
    );
  credentials
    .command("list")
    .description("list credentials (never shows a secret)")
    .addOption(choice("--kind <kind>", "only this kind", ["password", "public_key"]))
    .action(
      action(
        (api, o: Obj) => allPages(api, "/api/v1/credentials", { kind: o.kind as string | undefined }),
        (rows: Obj[]) =>
          printTable(
            rows.map((r) => ({ ...r, usedBy: (r.usedBy as Obj[]).length })),
            {
              id: "ID",
              name: "NAME",
              kind: "KIND",
              username: "USERNAME",
              fingerprint: "FINGERPRINT",
              usedBy: "CONNECTIONS",
            },
          ),
      ),
    );
  credentials
    .command("show <id>")
    .description("one credential")
    .action(
      action(
        (api, id: string) => api.request("GET", `/api/v1/credentials/${encodeURIComponent(id)}`),
        printObject,
      ),
    );
  credentials
    .command("rename <id> <name>")
    .description("rename a credential")
    .action(
      action(
        (api, id: string, name: string) =>
          api.request("PATCH", `/api/v1/credentials/${encodeURIComponent(id)}`, { name }),
        printObject,
      ),
    );
  credentials
    .command("set-max-sessions <id> <n>")
    .description(
      'how many SFTP/FTP sessions this login may have at once (1-256), or "default" for the server\'s',
    )
    .action(
      action((api, id: string, n: string) => {
        if (n !== "default" && !/^[1-9]\d*$/.test(n))
          throw new Error('<n> must be a whole number 1-256, or "default"');
        return api.request("PATCH", `/api/v1/credentials/${encodeURIComponent(id)}`, {
          maxSessions: n === "default" ? null : Number(n),
        });
      }, printObject),
    );
  credentials
    .command("reset <id>")
    .description("generate a new password (shown once); the old one stops working")
    .action(
      action(
        (api, id: string) =>
          api.request("POST", `/api/v1/credentials/${encodeURIComponent(id)}/reset-password`),
        secretNotice,
      ),
    );
  credentials
    .command("rotate-key <id>")
    .description("replace the public key of a public_key credential")
    .option("--public-key <key>", "the new public key text")
    .option("--public-key-file <file>", "file holding the new public key", fileArg)
    .action(
      action((api, id: string, o: Obj) => {
        const publicKey = o.publicKeyFile ?? o.publicKey;
        if (publicKey === undefined) throw new InvalidArgumentError("give --public-key-file or --public-key");
        return api.request("PATCH", `/api/v1/credentials/${encodeURIComponent(id)}`, { publicKey });
      }, printObject),
    );
}
