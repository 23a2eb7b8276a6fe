/** `ferry campaigns|trackers|partners|actions|clicks|catalogs` and `ferry demo`: platform data through the API. */
import { type Command, InvalidArgumentError } from "commander";
import { runDemo } from "./demo.js";
import { action, allPages, type Obj } from "./helpers.js";
import { printObject, printTable } from "./output.js";

function payoutArg(value: string): { type: "percent" | "fixed"; value: number } {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('must be a percentage like "8%" or a fixed sum like "2.50"');
  return { type: m[2] ? "percent" : "fixed", value: Number(m[1]) };
}

const positive = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a whole number");
  return n;
};

export function registerPlatformCommands(program: Command): void {
  const campaigns = program
    .command("campaigns")
    .description("campaigns (programs) and their action trackers");
  campaigns
    .command("create <name>")
    .option("--currency <code>", "ISO 4217 (default: the account's)")
    .action(
      action(
        (api, name: string, o: Obj) =>
          api.request("POST", "/api/v1/campaigns", { name, currency: o.currency }),
        printObject,
      ),
    );
  campaigns.command("list").action(
    action(
      (api) => allPages(api, "/api/v1/campaigns", {}),
      (rows: Obj[]) => printTable(rows, { id: "ID", name: "NAME", currency: "CURRENCY", status: "STATUS" }),
    ),
  );

  const trackers = program
    .command("trackers")
    .description("action trackers: event types with their payout rule");
  trackers
    .command("create <campaignId> <name>")
    .requiredOption(
      "--payout <rule>",
      'percent of the amount ("8%") or a fixed sum per action ("2.50")',
      payoutArg,
    )
    .option("--lock-days <days>", "days after the event before the action locks (default 30)", positive)
    .action(
      action(
        (api, campaignId: string, name: string, o: Obj) =>
          api.request("POST", `/api/v1/campaigns/${encodeURIComponent(campaignId)}/trackers`, {
            name,
            payout: o.payout,
            lockDays: o.lockDays,
          }),
        printObject,
      ),
    );
  trackers.command("list <campaignId>").action(
    action(
      async (api, campaignId: string) =>
        (
          await api.request<{ items: Obj[] }>(
            "GET",
            `/api/v1/campaigns/${encodeURIComponent(campaignId)}/trackers`,
          )
        ).items,
      (rows: Obj[]) =>
        printTable(
          rows.map((r) => ({
            ...r,
            rule: `${(r.payout as Obj).value}${(r.payout as Obj).type === "percent" ? "%" : ` ${r.currency}`}`,
          })),
          { id: "ID", name: "NAME", rule: "PAYOUT", lockDays: "LOCK DAYS" },
        ),
    ),
  );
  trackers
    .command("partner-payout <trackerId> <partnerId>")
    .description("give a partner its own payout rule on a tracker (--remove: back to the tracker's rule)")
    .option("--payout <rule>", '"10%" or "3.00"', payoutArg)
    .option("--remove", "remove the partner's own rule")
    .action(
      action((api, trackerId: string, partnerId: string, o: Obj) => {
        const url = `/api/v1/trackers/${encodeURIComponent(trackerId)}/partners/${encodeURIComponent(partnerId)}`;
        if (o.remove) return api.request("DELETE", url);
        if (!o.payout) throw new InvalidArgumentError("give --payout or --remove");
        return api.request("PUT", url, o.payout);
      }, printObject),
    );

  const bonuses = program.command("bonus-rules").description("performance bonus rules of campaigns");
  bonuses
    .command("create <campaignId>")
    .requiredOption("--name <name>")
    .requiredOption("--basis <basis>", "actions or revenue (a partner's month)")
    .requiredOption("--kind <kind>", "raise_all, raise_past_tier (value: percent) or fixed (value: amount)")
    .requiredOption(
      "--tier <from:value...>",
      'tiers, e.g. "10:2" "50:5": from 10 actions (or that revenue), value 2',
    )
    .action(
      action(
        (api, campaignId: string, o: Obj) =>
          api.request("POST", `/api/v1/campaigns/${encodeURIComponent(campaignId)}/bonus-rules`, {
            name: o.name,
            basis: o.basis,
            kind: o.kind,
            tiers: (o.tier as string[]).map((t) => {
              const [from, value] = t.split(":").map(Number);
              if (!Number.isFinite(from) || !Number.isFinite(value)) {
                throw new InvalidArgumentError(`tier "${t}" must be from:value, e.g. 10:2`);
              }
              return { from, value };
            }),
          }),
        printObject,
      ),
    );
  bonuses.command("list <campaignId>").action(
    action(
      async (api, campaignId: string) =>
        (
          await api.request<{ items: Obj[] }>(
            "GET",
            `/api/v1/campaigns/${encodeURIComponent(campaignId)}/bonus-rules`,
          )
        ).items,
      (rows: Obj[]) =>
        printTable(
          rows.map((r) => ({
            ...r,
            tierList: (r.tiers as { from: number; value: number }[])
              .map((t) => `${t.from}:${t.value}`)
              .join(" "),
          })),
          { id: "ID", name: "NAME", basis: "BASIS", kind: "KIND", tierList: "TIERS" },
        ),
    ),
  );

  const partners = program.command("partners").description("media partners and their promo codes");
  partners
    .command("create <name>")
    .option("--promo-code <code...>", "promo codes that attribute orders to this partner")
    .action(
      action(
        (api, name: string, o: Obj) =>
          api.request("POST", "/api/v1/partners", { name, promoCodes: o.promoCode }),
        printObject,
      ),
    );
  partners.command("list").action(
    action(
      (api) => allPages(api, "/api/v1/partners", {}),
      (rows: Obj[]) =>
        printTable(
          rows.map((r) => ({ ...r, codes: (r.promoCodes as string[]).join(" ") })),
          { id: "ID", name: "NAME", status: "STATUS", codes: "PROMO CODES" },
        ),
    ),
  );

  const actions = program.command("actions").description("actions (conversions) made by inbound files");
  actions
    .command("list")
    .option("--campaign <id>")
    .option("--partner <id>")
    .option("--state <state>", "PENDING, APPROVED or REVERSED")
    .option("--order <orderId>")
    .option("--transfer <id>", "only those created by this file")
    .action(
      action(
        (api, o: Obj) =>
          allPages(api, "/api/v1/actions", {
            campaignId: o.campaign as string | undefined,
            partnerId: o.partner as string | undefined,
            state: o.state as string | undefined,
            orderId: o.order as string | undefined,
            transferId: o.transfer as string | undefined,
          }),
        (rows: Obj[]) =>
          printTable(rows, {
            id: "ID",
            orderId: "ORDER",
            partnerId: "PARTNER",
            amount: "AMOUNT",
            payout: "PAYOUT",
            currency: "CUR",
            state: "STATE",
          }),
      ),
    );
  actions
    .command("show <id>")
    .description("one action with its items and modification history")
    .action(
      action(
        (api, id: string) => api.request("GET", `/api/v1/actions/${encodeURIComponent(id)}`),
        printObject,
      ),
    );

  program
    .command("clicks")
    .description("clicks made by inbound files")
    .command("show <clickId>")
    .action(
      action(
        (api, id: string) => api.request("GET", `/api/v1/clicks/${encodeURIComponent(id)}`),
        printObject,
      ),
    );

  program
    .command("demo")
    .description(
      "fill your account with a demo program (campaign, trackers, partners, ~10k clicks, connections) and write sample files",
    )
    .option("--dir <dir>", "where to write the sample files", "examples")
    .option("--clicks <n>", "how many clicks to create", positive, 10_000)
    .action(async (o: Obj, cmd: Command) => runDemo(cmd, { dir: String(o.dir), clicks: Number(o.clicks) }));
}
