/** Partners (media partners, MediaId in files) and their promo codes. All scoped to the actor's account. */
import type { Kysely, Selectable } from "kysely";
import type { Database, PartnersTable } from "../db/schema.js";
import type { Actor } from "./actor.js";
import { audit } from "./audit.js";
import { DomainError, isUniqueViolation, notFound } from "./errors.js";
import { numericPageBounds, type Page, type PageRequest, toNumericPage } from "./page.js";

export interface Partner {
  id: number;
  name: string;
  status: "active" | "inactive";
  promoCodes: string[];
  createdAt: Date;
}

async function toPartners(db: Kysely<Database>, rows: Selectable<PartnersTable>[]): Promise<Partner[]> {
  const codes = rows.length
    ? await db
        .selectFrom("promo_codes")
        .select(["partner_id", "code"])
        .where(
          "partner_id",
          "in",
          rows.map((r) => r.id),
        )
        .orderBy("code")
        .execute()
    : [];
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    status: r.status,
    promoCodes: codes.filter((c) => c.partner_id === r.id).map((c) => c.code),
    createdAt: r.created_at,
  }));
}

export async function createPartner(
  db: Kysely<Database>,
  actor: Actor,
  input: { name: string; promoCodes?: string[] | undefined },
): Promise<Partner> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto("partners")
      .values({ account_id: actor.accountId, name: input.name })
      .returningAll()
      .executeTakeFirstOrThrow();
    for (const code of input.promoCodes ?? []) await insertPromoCode(trx, actor, row.id, code);
    await audit(trx, actor, "partner.created", { type: "partner", id: String(row.id) }, { name: row.name });
    return (await toPartners(trx, [row]))[0]!;
  });
}

async function insertPromoCode(db: Kysely<Database>, actor: Actor, partnerId: number, code: string) {
  try {
    await db
      .insertInto("promo_codes")
      .values({ account_id: actor.accountId, code: code.toUpperCase(), partner_id: partnerId })
      .execute();
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw new DomainError("CONFLICT", `Promo code ${code.toUpperCase()} belongs to a partner already`, [
        { path: "code", message: "is taken" },
      ]);
    }
    throw err;
  }
}

export async function addPromoCode(
  db: Kysely<Database>,
  actor: Actor,
  partnerId: number,
  code: string,
): Promise<Partner> {
  await getPartner(db, actor, partnerId);
  await insertPromoCode(db, actor, partnerId, code);
  await audit(db, actor, "partner.promo_code_added", { type: "partner", id: String(partnerId) }, { code });
  return getPartner(db, actor, partnerId);
}

export async function listPartners(
  db: Kysely<Database>,
  actor: Actor,
  req: PageRequest,
): Promise<Page<Partner>> {
  const { limit, after } = numericPageBounds(req);
  const rows = await db
    .selectFrom("partners")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .where("id", ">", after)
    .orderBy("id")
    .limit(limit + 1)
    .execute();
  const page = toNumericPage(rows, limit, (r) => r);
  return { items: await toPartners(db, page.items), nextCursor: page.nextCursor };
}

export async function getPartner(db: Kysely<Database>, actor: Actor, id: number): Promise<Partner> {
  const row = await db
    .selectFrom("partners")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row) throw notFound("Partner");
  return (await toPartners(db, [row]))[0]!;
}
