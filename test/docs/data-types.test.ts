import { readFile, writeFile } from "node:fs/promises";
import { expect, it } from "vitest";
import { dataTypesReference } from "../../src/datatypes/docs.js";

const FILE = new URL("../../docs/data-types.md", import.meta.url);

it("docs/data-types.md is the reference the column declarations make (npm run docs:datatypes refreshes it)", async () => {
  const expected = dataTypesReference();
  if (process.env.UPDATE_DOCS === "1") await writeFile(FILE, expected);
  expect(await readFile(FILE, "utf8")).toBe(expected);
});
