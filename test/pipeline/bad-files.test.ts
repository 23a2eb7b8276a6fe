/**
 * A corpus of bad files: each gets its own specific error, and the database is unchanged by what was
 * refused. Good rows next to bad ones are still applied (that part is in conversions.test.ts).
 */
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { useTestApi } from "../helpers/api.js";
import { createProgram, daysAgo, errorTypes, fileRunner, type Program } from "../helpers/platform.js";
import { zip } from "../helpers/zip.js";

const api = useTestApi();
let p: Program;
let other: Program;
const run = fileRunner(api, () => p);

const HEADER = "CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,MediaId,Amount";
const row = (order: string, amount = "10.00") =>
  `${p.campaignId},${p.percentTracker},${daysAgo(1)},${order},,${p.partnerA},${amount}`;

/** Row counts of the tables files change, to prove a refused file changed nothing. */
async function counts() {
  const r = await api.current.db.pool.query(
    "SELECT (SELECT count(*) FROM actions) AS actions, (SELECT count(*) FROM clicks) AS clicks, (SELECT count(*) FROM catalog_items) AS items, (SELECT count(*) FROM action_modifications) AS mods",
  );
  return r.rows[0];
}

beforeAll(async () => {
  p = await createProgram(api.current);
  other = await createProgram(api.current);
  await run("conversions", "seed.csv", `${HEADER}\n${row("SEED-1")}\n`);
});

describe("files as spreadsheets and other systems export them", () => {
  const orders = async (transferId: string) =>
    (
      await api.current.db.pool.query(
        "SELECT order_id, amount::text FROM actions WHERE transfer_id = $1 ORDER BY order_id",
        [transferId],
      )
    ).rows;

  it("Excel in a European locale: Windows-1252, semicolons, decimal commas, CRLF", async () => {
    const body = [
      HEADER.replaceAll(",", ";"),
      row("Café-1", "12,50").replaceAll(",", ";").replace(";12;50", ";12,50"),
    ]
      .map((l) => `${l}\r\n`)
      .join("");
    const { transfer, summary } = await run("conversions", "export.csv", Buffer.from(body, "latin1"));
    expect(summary.rows, JSON.stringify(summary)).toMatchObject({ total: 1, ok: 1, error: 0 });
    expect(await orders(transfer.id)).toEqual([{ order_id: "Café-1", amount: "12.50" }]);
  });

  it("Excel's Unicode text: UTF-16 with a byte-order mark, tabs", async () => {
    const body = `${HEADER.replaceAll(",", "\t")}\r\n${row("Zürich-1").replaceAll(",", "\t")}\r\n`;
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(body, "utf16le")]);
    const { transfer, summary } = await run("conversions", "export.txt", bytes);
    expect(summary.rows).toMatchObject({ total: 1, ok: 1, error: 0 });
    expect(await orders(transfer.id)).toEqual([{ order_id: "Zürich-1", amount: "10.00" }]);
  });

  it("a connection set to Shift_JIS and pipes reads them so, and refuses bytes that are not Shift_JIS", async () => {
    const connection = `/api/v1/connections/${p.connections.conversions}`;
    const set = await api.current.call(p.token, "PATCH", connection, {
      details: { encoding: "shift_jis", delimiter: "pipe" },
    });
    expect(set.status, set.body.message).toBe(200);
    expect(set.body.details).toMatchObject({ encoding: "shift_jis", delimiter: "pipe" });
    const bad = await api.current.call(p.token, "PATCH", connection, { details: { encoding: "ebcdic" } });
    expect(bad.status).toBe(400);
    try {
      const kanji = Buffer.from("93fa967b82cc89ef8ed0", "hex"); // 日本の会社
      const [before, after] = row("@@").replaceAll(",", "|").split("@@");
      const body = Buffer.concat([
        Buffer.from(`${HEADER.replaceAll(",", "|")}\n${before}`),
        kanji,
        Buffer.from(`${after}\n`),
      ]);
      const { transfer, summary } = await run("conversions", "sjis.psv", body);
      expect(summary.rows).toMatchObject({ total: 1, ok: 1 });
      expect(await orders(transfer.id)).toEqual([{ order_id: "日本の会社", amount: "10.00" }]);
      const broken = await run("conversions", "broken.psv", Buffer.concat([body, Buffer.from([0x82, 0x0a])]));
      expect(broken.summary.error.code).toBe("INVALID_ENCODING");
      expect(broken.summary.error.message).toMatch(
        /not valid Shift_JIS \(line 3\).*change the connection's encoding/,
      );
    } finally {
      await api.current.call(p.token, "PATCH", connection, {
        details: { encoding: "auto", delimiter: "auto" },
      });
    }
  });
});

describe("a file that cannot be read at all is refused with one clear error and changes nothing", () => {
  const cases: [string, string, string | Buffer, string, RegExp][] = [
    ["an empty file", "empty.csv", "", "EMPTY_FILE", /empty/],
    ["only blank lines", "blank.csv", "\n\n  \n", "EMPTY_FILE", /empty/],
    ["a header and no rows", "header.csv", `${HEADER}\n`, "NO_ROWS", /header but no rows/],
    [
      "a missing required column",
      "missing.csv",
      "CampaignId,EventDate,OrderId,Amount\n1,2,3,4\n",
      "MISSING_COLUMN",
      /ActionTrackerId is required/,
    ],
    ["a column twice", "twice.csv", `${HEADER},OrderId\n`, "DUPLICATE_COLUMN", /OrderId appears twice/],
    [
      "a binary file",
      "photo.csv",
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13, 0x49, 0x48]),
      "BINARY_FILE",
      /binary/,
    ],
    [
      "mixed encodings",
      "mixed.csv",
      Buffer.concat([
        Buffer.from(`${HEADER}\n1,2,3,Café,,,1\n`),
        Buffer.from("1,2,3,Caf\xe9,,,1\n", "latin1"),
      ]),
      "INVALID_ENCODING",
      /mixes encodings: it has UTF-8 characters, and line 3 is not UTF-8/,
    ],
    [
      "an encoding Ferry does not read (EUC-JP)",
      "euc.csv",
      Buffer.concat([
        Buffer.from(`${HEADER}\n`),
        ...Array.from({ length: 20 }, () =>
          Buffer.from("1,2,3,\xc6\xfc\xcb\xdc\xa4\xce\xb2\xf1\xbc\xd2,,,1\n", "latin1"),
        ),
      ]),
      "UNKNOWN_ENCODING",
      /not UTF-8 \(line 2\), and its encoding is not one Ferry reads \(it looks like EUC-JP\)/,
    ],
    [
      "a zip with two files",
      "two.zip",
      zip([
        { name: "a.csv", data: Buffer.from("x") },
        { name: "b.csv", data: Buffer.from("y") },
      ]),
      "BAD_ARCHIVE",
      /more than one file/,
    ],
    [
      "a damaged gzip",
      "bad.csv.gz",
      gzipSync(
        `${HEADER}\n${Array.from({ length: 2000 }, (_, i) => `${i * 7919},${i}`).join("\n")}`,
      ).subarray(0, 2000),
      "BAD_ARCHIVE",
      /damaged or truncated/,
    ],
  ];
  for (const [what, name, content, code, message] of cases) {
    it(`${what}: ${code}`, async () => {
      const before = await counts();
      const { transfer, summary } = await run("conversions", name, content);
      expect(transfer.status).toBe("failed");
      expect(summary.status).toBe("failed");
      expect(summary.error.code).toBe(code);
      expect(summary.error.message).toMatch(message);
      expect(transfer.error).toContain(code);
      expect(await counts()).toEqual(before);
    });
  }

  it("a zip bomb is stopped once it expands beyond reason", async () => {
    const before = await counts();
    const bomb = zip([{ name: "orders.csv", data: Buffer.alloc(100 * 1024 * 1024, `${HEADER}\n`) }]);
    expect(bomb.length).toBeLessThan(400 * 1024); // more than 250 times smaller
    const { summary } = await run("conversions", "bomb.zip", bomb);
    expect(summary.error.code).toBe("ARCHIVE_BOMB");
    expect(await counts()).toEqual(before);
  });
});

describe("rows that cannot be taken are row errors; the file goes on", () => {
  it("a truncated file: the cut row is refused, the complete ones applied", async () => {
    const full = `${HEADER}\n${row("TR-1")}\n${row("TR-2")}\n${row("TR-3")}`;
    const { summary, errors } = await run("conversions", "truncated.csv", full.slice(0, full.length - 8));
    expect(summary.rows).toMatchObject({ total: 3, ok: 2, error: 1 });
    expect(errorTypes(errors)).toEqual([[4, "WRONG_FIELD_COUNT"]]);
  });

  it("a quote left open by truncation", async () => {
    const { summary, errors } = await run(
      "conversions",
      "open-quote.csv",
      `${HEADER}\n${row("Q-1")}\n${row('"Q-2')}`,
    );
    expect(summary.rows).toMatchObject({ total: 2, ok: 1, error: 1 });
    expect(errorTypes(errors)).toEqual([[3, "UNTERMINATED_QUOTE"]]);
  });

  it("a 10 MB line is one row error, the lines around it are taken", async () => {
    const huge = `${p.campaignId},${p.percentTracker},${daysAgo(1)},${"H".repeat(10 * 1024 * 1024)},,${p.partnerA},1.00`;
    const { summary, errors } = await run(
      "conversions",
      "huge.csv",
      `${HEADER}\n${row("HL-1")}\n${huge}\n${row("HL-2")}\n`,
    );
    expect(summary.rows).toMatchObject({ total: 3, ok: 2, error: 1 });
    expect(errorTypes(errors)).toEqual([[3, "LINE_TOO_LONG"]]);
    expect(errors!.length).toBeLessThan(1000);
  });

  it("bad dates, garbage and negative amounts, another account's ids", async () => {
    const before = await counts();
    const foreign = `${other.campaignId},${other.percentTracker},${daysAgo(1)},F-1,,${other.partnerA},1.00`;
    const mixed = `${p.campaignId},${p.percentTracker},${daysAgo(1)},F-2,,${other.partnerA},1.00`;
    const file = [
      HEADER,
      `${p.campaignId},${p.percentTracker},2026-13-01,D-1,,${p.partnerA},1.00`,
      `${p.campaignId},${p.percentTracker},2026-02-29T10:00:00Z,D-2,,${p.partnerA},1.00`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},A-1,,${p.partnerA},-3.00`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},A-2,,${p.partnerA},1e5`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},A-3,,${p.partnerA},12.345`,
      foreign,
      mixed,
    ].join("\n");
    const { summary, errors } = await run("conversions", "bad-rows.csv", file);
    expect(summary.rows).toEqual({ total: 7, ok: 0, error: 7, duplicate: 0 });
    expect(errorTypes(errors)).toEqual([
      [2, "INVALID_DATE"],
      [3, "INVALID_DATE"],
      [4, "NEGATIVE_AMOUNT"],
      [5, "INVALID_AMOUNT"],
      [6, "INVALID_AMOUNT"],
      [7, "UNKNOWN_CAMPAIGN"],
      [8, "UNKNOWN_PARTNER"],
    ]);
    expect(await counts()).toEqual(before);
  });

  it("the same file again is a duplicate transfer: receipt and summary, nothing applied", async () => {
    // One content for both: row() stamps the current second, which may tick between two calls.
    const content = `${HEADER}\n${row("DUP-1")}\n`;
    const first = await run("conversions", "dup.csv", content);
    expect(first.summary.rows.ok).toBe(1);
    const before = await counts();
    const again = await run("conversions", "dup-again.csv", content);
    expect(again.transfer.status).toBe("duplicate");
    expect(again.summary).toMatchObject({ status: "duplicate", error: { code: "DUPLICATE_FILE" } });
    expect(again.receipt).toContain(`Duplicate of: ${first.transfer.id}`);
    expect(await counts()).toEqual(before);
  });
});
