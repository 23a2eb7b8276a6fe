/**
 * docs/deploy.md shows the HAProxy configuration the cluster tests run: the block on the page is what
 * haproxyConfig() writes for the page's example deployment, and HAProxy itself accepts it.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { EXAMPLE_DEPLOYMENT, HAPROXY, haproxyConfig } from "../helpers/haproxy.js";

const PAGE = fileURLToPath(new URL("../../docs/deploy.md", import.meta.url));

describe("docs/deploy.md", () => {
  it("shows the HAProxy configuration the tests use, and HAProxy checks it as valid", async () => {
    const page = await readFile(PAGE, "utf8");
    const block = /```haproxy\n([\s\S]*?)```/.exec(page)?.[1];
    const written = haproxyConfig(EXAMPLE_DEPLOYMENT.front, EXAMPLE_DEPLOYMENT.nodes);
    expect(block?.trimEnd()).toBe(written.trimEnd());
    const dir = await mkdtemp(path.join(os.tmpdir(), "ferry-haproxy-doc-"));
    try {
      const file = path.join(dir, "haproxy.cfg");
      await writeFile(file, written);
      const checked = await new Promise<{ code: number; out: string }>((resolve) =>
        execFile(HAPROXY, ["-c", "-f", file], (err, stdout, stderr) =>
          resolve({ code: err ? 1 : 0, out: stdout + stderr }),
        ),
      );
      expect(checked.code, checked.out).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
