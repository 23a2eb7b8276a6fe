/**
 * The virtual file system's listings, page by page (what SFTP READDIR and FTP LIST/NLST/MLSD stream): every
 * name once, in name order, the newest file of each name, a staged upload standing in for a received file of
 * its name wherever the page boundaries fall, removed files left out.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type Login, VirtualFs } from "../../src/protocols/vfs.js";
import { useTestApi } from "../helpers/api.js";

const api = useTestApi();
let vfs: VirtualFs;
let folder: string;

async function upload(name: string, content: string) {
  const handle = await vfs.openWrite(`/${folder}/inbox/${name}`);
  await handle.write(Buffer.from(content), 0);
  return handle.close();
}

async function pages(p: string, size: number) {
  const out = [];
  for await (const page of vfs.listPages(p, size)) out.push(page.map((e) => `${e.name}:${e.size}`));
  return out;
}

beforeAll(async () => {
  const { id: accountId, token } = await api.current.newAccount("brand");
  const call = async (url: string, body: unknown) => (await api.current.call(token, "POST", url, body)).body;
  const credential = await call("/api/v1/credentials", { name: "Feed", kind: "password" });
  const connection = await call("/api/v1/connections", {
    name: "Conversions",
    direction: "inbound",
    dataType: "conversions",
    method: "sftp",
    methodology: "push_to_platform",
    credentialId: credential.id,
  });
  folder = connection.folder;
  const login: Login = {
    accountId,
    credentialId: credential.id,
    username: credential.username,
    protocol: "sftp",
    remoteIp: "127.0.0.1",
    maxSessions: null,
  };
  const { db, store, queue } = api.current;
  vfs = new VirtualFs({ db: db.db, store, queue, maxUploadBytes: 1024 * 1024 }, login);

  for (const name of ["e.csv", "a.csv", "c.csv", "b.csv", "g.csv"]) await upload(name, "x");
  await upload("c.csv", "newer"); // a second file of one name: the newest is listed
  await upload("f.csv.part", "staged"); // a temporary name: staged until renamed
  await upload("d.csv.part", "staged!");
  await vfs.remove(`/${folder}/inbox/g.csv`);
});

describe("listing a folder page by page", () => {
  it("gives every name once, in order, the newest of each, whatever the page size", async () => {
    const all = ["a.csv:1", "b.csv:1", "c.csv:5", "d.csv.part:7", "e.csv:1", "f.csv.part:6"];
    for (const size of [1, 2, 3, 4, 6, 7, 500]) {
      const got = await pages(`/${folder}/inbox`, size);
      expect(got.flat(), `pages of ${size}`).toEqual(all);
      expect(got.every((p) => p.length <= size)).toBe(true);
    }
    expect((await vfs.list(`/${folder}/inbox`)).map((e) => e.name)).toEqual(all.map((e) => e.split(":")[0]));
  });

  it("shows a staged upload in place of a received file of its name, and its rename replacing one", async () => {
    // A received file under a temporary name (it came another way): the staged upload of that name stands in.
    const { db } = api.current.db;
    await db
      .insertInto("transfers")
      .values({
        id: crypto.randomUUID(),
        account_id: vfs.login.accountId,
        connection_id: (
          await db
            .selectFrom("connections")
            .select("id")
            .where("folder", "=", folder)
            .executeTakeFirstOrThrow()
        ).id,
        direction: "inbound",
        file_name: "f.csv.part",
        store_key: "elsewhere",
        size: 99,
        sha256: "0".repeat(64),
        status: "received",
        protocol: "http",
      })
      .execute();
    for (const size of [1, 2, 5]) {
      expect((await pages(`/${folder}/inbox`, size)).flat()).toContain("f.csv.part:6");
    }
    // An upload under a temporary name, renamed: it replaces the file of that name.
    const pending = await vfs.openWrite(`/${folder}/inbox/b.csv.part`);
    await pending.write(Buffer.from("replacement"), 0);
    await pending.close();
    await vfs.rename(`/${folder}/inbox/b.csv.part`, `/${folder}/inbox/b.csv`);
    const got = (await pages(`/${folder}/inbox`, 1)).flat();
    expect(got).toEqual(["a.csv:1", "b.csv:11", "c.csv:5", "d.csv.part:7", "e.csv:1", "f.csv.part:6"]);
  });

  it("lists an empty area as no pages, and refuses what is no folder at the first page", async () => {
    expect(await pages(`/${folder}/results`, 2)).toEqual([]);
    await expect(pages(`/${folder}/nowhere`, 2)).rejects.toThrow(/No such file/);
    await expect(pages("/no-such-connection/inbox", 2)).rejects.toThrow(/No such file/);
    expect((await pages("/", 10)).flat()).toEqual([`${folder}:0`]);
  });
});
