/**
 * Ferry as an operator installs it: `npm pack` of this checkout, installed into an empty folder without dev
 * dependencies, started there (embedded PostgreSQL, web UI), stopped with SIGTERM; and the systemd unit in
 * deploy/ checked by systemd itself against that install.
 */
import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, startServe } from "../helpers/ferry.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
let dir: string;
let tarball: string;
let installed: string;

const run = (cmd: string, args: string[], cwd: string, timeout = 240_000) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(cmd, args, { cwd, timeout, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err.code as number) ?? 1) : 0, stdout, stderr }),
    ),
  );

beforeAll(async () => {
  await readFile(CLI); // built by npm test before the tests run
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-pack-"));
  // Readable by all: run as root, the embedded PostgreSQL runs as `postgres` and must reach its binaries.
  await chmod(dir, 0o755);
  // The build is fresh (npm test builds first): pack it as it is (prepack would build it again).
  const packed = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], ROOT);
  expect(packed.code, packed.stderr).toBe(0);
  tarball = path.join(dir, JSON.parse(packed.stdout)[0].filename);
  const app = path.join(dir, "app");
  await mkdir(app);
  await writeFile(path.join(app, "package.json"), '{ "name": "ferry-install-check", "private": true }\n');
  const install = await run("npm", ["install", "--omit=dev", "--no-audit", "--no-fund", tarball], app);
  expect(install.code, install.stderr).toBe(0);
  installed = path.join(app, "node_modules", "ferry");
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("holds the built server, web UI, migrations and locked dependency tree, and none of the sources", async () => {
    const list = (await run("tar", ["tzf", tarball], dir)).stdout.split("\n").filter(Boolean);
    expect(list).toEqual(
      expect.arrayContaining([
        "package/package.json",
        "package/npm-shrinkwrap.json",
        "package/dist/cli.js",
        "package/dist/web/index.html",
        "package/dist/db/migrations/001_foundation.sql",
        "package/README.md",
        // selfsigned is bundled: its @peculiar modules must be one set, whatever npm hoists beside them.
        "package/node_modules/selfsigned/package.json",
      ]),
    );
    expect(
      list.filter(
        (f) =>
          /^package\/(src|test|web|bench|scripts)\//.test(f) ||
          (f.startsWith("package/dist/") && f.endsWith(".map")),
      ),
    ).toEqual([]);
  });

  it("installs into an empty folder without dev dependencies, starts and serves, and stops on SIGTERM", async () => {
    const data = path.join(dir, "data");
    const ferry = await startServe({ FERRY_DATA_DIR: data }, 90_000, path.join(installed, "dist", "cli.js"));
    const ready = await fetch(`${ferry.url}/readyz`);
    expect(ready.status).toBe(200);
    const page = await fetch(`${ferry.url}/settings/technical/connections`);
    expect(await page.text()).toMatch(/<div id="root">/);
    const version = await run(process.execPath, [path.join(installed, "dist", "cli.js"), "--version"], dir);
    expect(version.stdout.trim()).toBe(
      JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")).version,
    );
    expect(await ferry.stop("SIGTERM")).toBe(0);
  }, 120_000);

  it("runs under the systemd unit in deploy/, which systemd verifies against the install", async () => {
    const unit = (await readFile(path.join(ROOT, "deploy", "ferry.service"), "utf8"))
      .replaceAll("/opt/ferry/node_modules/ferry", installed)
      .replace("/usr/bin/node", process.execPath);
    const file = path.join(dir, "ferry.service");
    await writeFile(file, unit);
    const verified = await run("systemd-analyze", ["verify", file], dir);
    expect(verified.code, verified.stderr).toBe(0);
    // Warnings (an unknown setting, a bad value) are not failures for systemd: none is wanted either.
    expect(verified.stderr).toBe("");
    expect(unit).toMatch(
      /^ExecStart=\S+ --max-old-space-size=256 --max-semi-space-size=32 \S+\/dist\/cli\.js serve$/m,
    );
  });
});
