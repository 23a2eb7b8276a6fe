import { defineConfig } from "vitest/config";

/**
 * Three projects (`npm test` runs them all; `npx vitest run --project unit` one):
 * - unit: pure functions and modules, colocated in src/ — no database, no external tool; seconds.
 * - db: the domain, pipeline, API and security rules against PostgreSQL (a schema per file).
 * - e2e: `ferry serve` and its servers driven by real clients (OpenSSH, curl, lftp, Chromium…), RGW, HAProxy.
 */
export default defineConfig({
  test: {
    reporters: ["default", "./test/summary-reporter.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file has its own schema (or database), so files run in parallel. Two at a time: Vitest's default is
    // one fewer than the cores, a single worker on our 2-core machines, yet most of a test's time is spent
    // waiting on other processes (PostgreSQL, Ferry's servers, the clients). Measured here: the db project
    // 250 s → 117 s, e2e 535 s → 309 s, every test passing.
    fileParallelism: true,
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["src/**/*.test.ts", "test/docs/data-types.test.ts", "test/docs/layers.test.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "db",
          include: [
            "test/api/**/*.test.ts",
            "test/db/**/*.test.ts",
            "test/pipeline/**/*.test.ts",
            "test/security/**/*.test.ts",
          ],
          globalSetup: ["test/global-setup.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts", "test/interop/**/*.test.ts", "test/docs/deploy.test.ts"],
          globalSetup: ["test/tools-setup.ts", "test/global-setup.ts"],
        },
      },
    ],
  },
});
