import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { useTestApi } from "../helpers/api.js";
import { createProgram, daysAgo, errorTypes, fileRunner, type Program } from "../helpers/platform.js";

const api = useTestApi();
let p: Program;
const call = (method: string, url: string, body?: unknown) => api.current.call(p.token, method, url, body);
const run = fileRunner(api, () => p);

beforeAll(async () => {
  p = await createProgram(api.current);
});

describe("clicks", () => {
  it("are upserted by ClickId; a later row of the same click wins", async () => {
    const header = "ClickId,CampaignId,MediaId,EventDate,SubId1,IpAddress";
    const first = await run(
      "clicks",
      "c1.csv",
      `${header}\nk-1,${p.campaignId},${p.partnerA},${daysAgo(1)},a,10.0.0.1\n`,
    );
    expect(first.summary.rows.ok).toBe(1);
    const second = await run(
      "clicks",
      "c2.csv",
      `${header}\nk-1,${p.campaignId},${p.partnerB},${daysAgo(1)},b,::1\nk-1,${p.campaignId},${p.partnerB},${daysAgo(1)},c,\nk-2,${p.campaignId},424242,${daysAgo(1)},,\nk-3,${p.campaignId},${p.partnerA},${daysAgo(1)},,999.1.1.1\n`,
    );
    expect(second.summary.rows).toEqual({ total: 4, ok: 1, error: 2, duplicate: 1 });
    expect(errorTypes(second.errors)).toEqual([
      [2, "DUPLICATE"],
      [4, "UNKNOWN_PARTNER"],
      [5, "INVALID_IP"],
    ]);
    const click = (await call("GET", "/api/v1/clicks/k-1")).body;
    expect(click).toMatchObject({
      partnerId: p.partnerB,
      subIds: ["c", null, null],
      transferId: second.transfer.id,
    });
  });
});

describe("action modifications", () => {
  let lockedOrder: string;
  beforeAll(async () => {
    const head = "CampaignId,ActionTrackerId,EventDate,OrderId,MediaId,Amount";
    const items = "CampaignId,ActionTrackerId,EventDate,OrderId,MediaId,Sku,Quantity,ItemPrice";
    await run(
      "conversions",
      "base.csv",
      `${head}\n${p.campaignId},${p.percentTracker},${daysAgo(1)},M-1,${p.partnerA},100.00\n${p.campaignId},${p.percentTracker},${daysAgo(1)},M-2,${p.partnerA},50.00\n${p.campaignId},${p.fixedTracker},${daysAgo(1)},M-3,${p.partnerA},70.00\n${p.campaignId},${p.percentTracker},${daysAgo(1)},M-5,${p.partnerA},100.00\n${p.campaignId},${p.percentTracker},${daysAgo(1)},M-6,${p.partnerA},60.00\n${p.campaignId},${p.percentTracker},${daysAgo(1)},M-7,${p.partnerA},40.00\n`,
    );
    await run(
      "conversions",
      "items.csv",
      `${items}\n${p.campaignId},${p.percentTracker},${daysAgo(1)},M-4,${p.partnerA},A,2,10.00\n${p.campaignId},${p.percentTracker},${daysAgo(1)},M-4,${p.partnerA},B,1,30.00\n`,
    );
    lockedOrder = "M-3"; // the fixed tracker locks at once
  });

  const action = async (orderId: string) => {
    const [a] = (await call("GET", `/api/v1/actions?orderId=${orderId}`)).body.items;
    return (await call("GET", `/api/v1/actions/${a.id}`)).body;
  };

  it("change amounts, reverse, approve and reset, recomputing the payout, keeping every change", async () => {
    const m1 = await action("M-1");
    const file = [
      "ActionId,OrderId,ActionTrackerId,Amount,Reason,DispositionCode",
      `${m1.id},,,80.00,ITEM_RETURNED,R1`,
      `,M-2,${p.percentTracker},0,CONS_FRAUD,`,
      `,M-2,${p.percentTracker},,RESET,`,
      `${m1.id},,,,APPROVED,`,
      `,${lockedOrder},${p.fixedTracker},0,CONS_ERROR,`,
      `,NOPE,${p.percentTracker},1.00,ORDER_UPDATE,`,
      `${m1.id},,,5.00,BECAUSE,`,
      `,M-2,,5.00,ORDER_UPDATE,`,
    ].join("\n");
    const { summary, errors } = await run("action_modifications", "mods.csv", file);
    expect(summary.rows).toEqual({ total: 8, ok: 4, error: 4, duplicate: 0 });
    expect(errorTypes(errors)).toEqual([
      [6, "ACTION_LOCKED"],
      [7, "UNKNOWN_ACTION"],
      [8, "INVALID_VALUE"],
      [9, "MISSING_IDENTIFIER"],
    ]);
    const a1 = await action("M-1");
    expect(a1).toMatchObject({
      amount: 80,
      payout: 8,
      state: "APPROVED",
      modificationCount: 2,
      lastReason: "APPROVED",
    });
    expect(
      a1.modifications.map((m: Record<string, unknown>) => [m.reason, m.oldAmount, m.newAmount, m.newState]),
    ).toEqual([
      ["ITEM_RETURNED", 100, 80, "PENDING"],
      ["APPROVED", 80, 80, "APPROVED"],
    ]);
    const a2 = await action("M-2");
    expect(a2).toMatchObject({ amount: 50, payout: 5, state: "PENDING" });
    expect(a2.modifications.map((m: Record<string, unknown>) => [m.reason, m.newAmount, m.newState])).toEqual(
      [
        ["CONS_FRAUD", 0, "REVERSED"],
        ["RESET", 50, "PENDING"],
      ],
    );
  });

  it("change each action once (the usual file, applied in one statement) with the same rules", async () => {
    const m5 = await action("M-5");
    const file = [
      "ActionId,OrderId,ActionTrackerId,Amount,Reason,DispositionCode",
      `${m5.id},,,75.50,ITEM_RETURNED,R5`,
      `,M-6,${p.percentTracker},0,CONS_FRAUD,F6`,
      `,M-7,${p.percentTracker},,APPROVED,`,
      `,${lockedOrder},${p.fixedTracker},0,CONS_ERROR,`,
    ].join("\n");
    const { summary, errors } = await run("action_modifications", "once.csv", file);
    expect(summary.rows).toEqual({ total: 4, ok: 3, error: 1, duplicate: 0 });
    expect(errorTypes(errors)).toEqual([[5, "ACTION_LOCKED"]]);
    const changes = async (order: string) => {
      const a = await action(order);
      return {
        now: [a.amount, a.payout, a.state, a.modificationCount, a.lastReason],
        kept: a.modifications.map((m: Record<string, unknown>) => [
          m.reason,
          m.oldAmount,
          m.newAmount,
          m.oldPayout,
          m.newPayout,
          m.oldState,
          m.newState,
        ]),
      };
    };
    expect(await changes("M-5")).toEqual({
      now: [75.5, 7.55, "PENDING", 1, "ITEM_RETURNED"],
      kept: [["ITEM_RETURNED", 100, 75.5, 10, 7.55, "PENDING", "PENDING"]],
    });
    expect(await changes("M-6")).toEqual({
      now: [0, 0, "REVERSED", 1, "CONS_FRAUD"],
      kept: [["CONS_FRAUD", 60, 0, 6, 0, "PENDING", "REVERSED"]],
    });
    expect(await changes("M-7")).toEqual({
      now: [40, 4, "APPROVED", 1, "APPROVED"],
      kept: [["APPROVED", 40, 40, 4, 4, "PENDING", "APPROVED"]],
    });
  });

  it("change one item at item level, and the order's total with it", async () => {
    const { summary } = await run(
      "action_modifications",
      "item-mods.csv",
      `OrderId,ActionTrackerId,Sku,Quantity,Reason\nM-4,${p.percentTracker},A,1,ITEM_RETURNED\n`,
    );
    expect(summary.rows.ok).toBe(1);
    const a4 = await action("M-4");
    expect(a4.amount).toBe(40);
    expect(a4.payout).toBe(4);
    expect(
      a4.items.map((i: { sku: string; quantity: number; amount: number }) => [i.sku, i.quantity, i.amount]),
    ).toEqual([
      ["A", 1, 10],
      ["B", 1, 30],
    ]);
  });
});

describe("product catalogs", () => {
  const items = async () => {
    const [catalog] = (await call("GET", "/api/v1/catalogs")).body.items;
    return {
      catalog,
      items: (await call("GET", `/api/v1/catalogs/${catalog.id}/items?includeRemoved=true`)).body.items,
    };
  };

  it("replace the catalog: new and changed items in, missing ones marked removed", async () => {
    const csv =
      "id,title,price,availability,brand\nP1,Shoe,12.99 USD,in stock,Acme\nP2,Sock,3.50 USD,out_of_stock,Acme\nP3,Hat,20,preorder,Acme\n";
    const first = await run("product_catalog", "catalog.csv", csv);
    expect(first.summary.rows).toEqual({ total: 3, ok: 3, error: 0, duplicate: 0 });
    const tsv = gzipSync(
      "id\ttitle\tprice\tsale_price\tcurrency\nP1\tShoe v2\t13.99\t9.99\tUSD\nP3\tHat\t20.00\t\tUSD\nP4\tScarf\tcheap\t\tUSD\n",
    );
    const second = await run("product_catalog", "catalog.tsv.gz", tsv);
    expect(second.summary.rows).toEqual({ total: 3, ok: 2, error: 1, duplicate: 0 });
    expect(errorTypes(second.errors)).toEqual([[4, "INVALID_PRICE"]]);
    const { catalog, items: all } = await items();
    expect(catalog.itemCount).toBe(2);
    expect(
      all.map((i: Record<string, unknown>) => [i.id, i.title, i.price, i.salePrice, i.removedAt !== null]),
    ).toEqual([
      ["P1", "Shoe v2", 13.99, 9.99, false],
      ["P2", "Sock", 3.5, null, true],
      ["P3", "Hat", 20, null, false],
    ]);
  });

  it("keep the last good version of an item whose row fails, and take only the last of a repeated item", async () => {
    await run(
      "product_catalog",
      "keep-1.csv",
      "id,title,price\nK1,Kettle,30.00 USD\nK2,Knife,12.00 USD\nK3,Ketchup,2.00 USD\n",
    );
    const second = await run(
      "product_catalog",
      "keep-2.csv",
      "id,title,price\nK1,Kettle v2,cheap\nK2,Knife v2,13.00 USD\nK2,Knife v3,14.00 USD\nK2,Knife v4,free\n",
    );
    expect(second.summary.rows).toEqual({ total: 4, ok: 1, error: 2, duplicate: 1 });
    expect(errorTypes(second.errors)).toEqual([
      [2, "INVALID_PRICE"],
      [3, "DUPLICATE"],
      [5, "INVALID_PRICE"],
    ]);
    const { items: all } = await items();
    expect(
      all
        .filter((i: { id: string }) => i.id.startsWith("K"))
        .map((i: Record<string, unknown>) => [i.id, i.title, i.price, i.removedAt !== null]),
    ).toEqual([
      ["K1", "Kettle", 30, false],
      ["K2", "Knife v3", 14, false],
      ["K3", "Ketchup", 2, true],
    ]);
  });

  it("read Google-Merchant-style XML feeds", async () => {
    const xml = `<?xml version="1.0"?>
<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel><title>Feed</title>
<item><g:id>X1</g:id><title><![CDATA[Red & Blue]]></title><g:price>5.00 EUR</g:price><g:availability>in stock</g:availability></item>
<item><g:id>X2</g:id><title>Green</title><g:price>1.00 EUR</g:price><g:sale_price>2.00 USD</g:sale_price></item>
</channel></rss>`;
    const { summary, errors } = await run("product_catalog", "feed.xml", xml);
    expect(summary.rows).toEqual({ total: 2, ok: 1, error: 1, duplicate: 0 });
    expect(errorTypes(errors)).toEqual([[4, "CURRENCY_MISMATCH"]]);
    const { items: all } = await items();
    expect(
      all
        .filter((i: { removedAt: unknown }) => !i.removedAt)
        .map((i: Record<string, unknown>) => [i.id, i.title, i.price, i.currency]),
    ).toEqual([["X1", "Red & Blue", 5, "EUR"]]);
  });
});
