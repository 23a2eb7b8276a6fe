/**
 * The store's leftovers: uploads never committed and objects nothing refers to go after their grace period;
 * uploads in progress, young objects and every object a row refers to stay.
 */
import { describe, expect, it } from "vitest";
import { sweepStore } from "../../src/pipeline/sweep.js";
import { useTestApi } from "../helpers/api.js";

const api = useTestApi();
const HOUR = 3_600_000;
const grace = { uploadGraceMs: HOUR, objectGraceMs: 6 * HOUR };

async function exists(key: string): Promise<boolean> {
  return api.current.store.open(key).then(
    async (r) => {
      await r.close();
      return true;
    },
    () => false,
  );
}

describe("the store sweep", () => {
  it("removes dead uploads and orphan objects after their grace, and nothing else", async () => {
    const { store, db } = api.current;
    const account = await api.current.newAccount();
    const connection = await api.current.call(account.token, "POST", "/api/v1/connections", {
      name: "Mail",
      direction: "inbound",
      dataType: "clicks",
      method: "email",
      methodology: "push_to_platform",
    });
    const received = await api.current.receive(
      { accountId: account.id, connectionId: connection.body.id },
      "kept.csv",
      "ClickId\nx\n",
    );
    const { store_key: keptKey } = await db.db
      .selectFrom("transfers")
      .select("store_key")
      .where("id", "=", received.transferId)
      .executeTakeFirstOrThrow();
    const orphanUpload = await store.create();
    await orphanUpload.write(Buffer.from("half a file"), 0);
    const orphan = await store.create();
    await orphan.write(Buffer.from("committed, then the database failed"), 0);
    const orphanObject = await orphan.commit();

    // Within the grace periods nothing goes.
    expect(await sweepStore(db.db, store, grace)).toEqual({ uploads: 0, objects: 0 });
    // An hour later the dead upload goes; six hours later the orphan object too, never the referenced one.
    expect(await sweepStore(db.db, store, grace, Date.now() + HOUR + 60_000)).toEqual({
      uploads: 1,
      objects: 0,
    });
    await expect(orphanUpload.commit()).rejects.toThrow();
    expect(await sweepStore(db.db, store, grace, Date.now() + 6 * HOUR + 60_000)).toEqual({
      uploads: 0,
      objects: 1,
    });
    expect(await exists(orphanObject.key)).toBe(false);
    expect(await exists(keptKey!)).toBe(true);
  });
});
