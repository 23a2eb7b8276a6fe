/**
 * The layer rule of docs/architecture.md is a lint error, not a wish: the repository's own biome.json, run
 * over probe files in a scratch tree, flags each import that points up (or across the adapters) and each
 * import circle, and lets the ports through. (`npm run lint` holds the real tree to it.)
 */
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIOME = path.join(ROOT, "node_modules/.bin/biome");

/** [file in the scratch tree, what it imports, whether the lint must refuse it] */
const PROBES: [string, string, boolean][] = [
  ["src/db/probe.ts", "../domain/errors.js", true],
  ["src/domain/probe.ts", "../pipeline/jobs.js", true],
  ["src/domain/probe2.ts", "../db/schema.js", false],
  ["src/datatypes/probe.ts", "../pipeline/problems.js", true],
  ["src/datatypes/probe2.ts", "../domain/connection-rules.js", false],
  ["src/pipeline/probe.ts", "../protocols/remote/egress.js", true],
  ["src/pipeline/probe2.ts", "../store/s3.js", true],
  ["src/pipeline/probe3.ts", "../datatypes/problems.js", false],
  ["src/store/probe.ts", "../pipeline/store.js", false],
  ["src/store/probe2.ts", "../pipeline/jobs.js", true],
  ["src/queue/probe.ts", "../pipeline/jobs.js", false],
  ["src/queue/probe2.ts", "../pipeline/process.js", true],
  ["src/protocols/sftp/probe.ts", "../../http/app.js", true],
  ["src/protocols/sftp/probe2.ts", "../../pipeline/receive.js", false],
  ["src/http/routes/probe.ts", "../../protocols/vfs.js", true],
  ["src/http/routes/probe2.ts", "../../domain/pulls.js", false],
  ["src/cli/probe.ts", "../domain/errors.js", true],
  ["src/cli/probe2.ts", "../domain/connection-rules.js", false],
];

let dir: string;
let report = "";

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-layers-"));
  await copyFile(path.join(ROOT, "biome.json"), path.join(dir, "biome.json"));
  for (const [file, from] of PROBES) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), `import { x } from "${from}";\nexport const y = x;\n`);
  }
  // An import circle made only of types (routes reading the app's dependencies, the app mounting routes).
  await mkdir(path.join(dir, "src/http/routes"), { recursive: true });
  await writeFile(
    path.join(dir, "src/http/app.ts"),
    'import { r } from "./routes/r.js";\nexport interface Deps { n: number }\nexport const app = r;\n',
  );
  await writeFile(
    path.join(dir, "src/http/routes/r.ts"),
    'import type { Deps } from "../app.js";\nexport const r = (d: Deps) => d.n;\n',
  );
  report = await new Promise<string>((resolve) =>
    execFile(
      BIOME,
      ["lint", "--vcs-enabled=false", "--max-diagnostics=200", "--colors=off", "src"],
      { cwd: dir },
      (_err, stdout, stderr) => resolve(stdout + stderr),
    ),
  );
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe("the layer rule (biome.json)", () => {
  it.each(PROBES)("%s importing %s: refused %s", (file, _from, refused) => {
    const flagged = report.includes(`${file}:1:19 lint/style/noRestrictedImports`);
    expect(flagged, report).toBe(refused);
  });

  it("refuses an import circle, even of types only", () => {
    expect(report).toMatch(/src\/http\/app\.ts:1:\d+ lint\/suspicious\/noImportCycles/);
    expect(report).toMatch(/src\/http\/routes\/r\.ts:1:\d+ lint\/suspicious\/noImportCycles/);
  });
});
