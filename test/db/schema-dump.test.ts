import { readFile, writeFile } from "node:fs/promises";
import { expect, it } from "vitest";
import { dumpSchema } from "../../src/db/dump.js";
import { useTestDb } from "../helpers/db.js";

const db = useTestDb();
const file = new URL("../../src/db/schema.sql", import.meta.url);

it("src/db/schema.sql is the schema the migrations build (npm run db:dump refreshes it)", async () => {
  const dump = await dumpSchema(db.current.pool);
  if (process.env.UPDATE_SCHEMA_DUMP === "1") await writeFile(file, dump);
  expect(dump).toBe(await readFile(file, "utf8").catch(() => "(missing)"));
});
