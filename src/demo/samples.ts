/**
 * Realistic sample files of every inbound data type, from a seed: `ferry demo` writes them to examples/,
 * the benchmarks and end-to-end tests generate theirs the same way. Lines are produced lazily, so a
 * million-row file never sits in memory.
 */

/** A small deterministic generator (mulberry32), so a seed always gives the same file. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
const DAY = 86_400_000;

export interface ClickPlan {
  campaignId: number;
  partnerIds: number[];
  count: number;
  /** Click ids are `${prefix}${n}`. (Default: clk-) */
  prefix?: string;
  seed?: number;
  /** Clicks fall in the `days` before `now`. */
  now?: number;
  days?: number;
}

const AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
];

export const clickId = (prefix: string, n: number) => `${prefix}${String(n).padStart(7, "0")}`;

/** A clicks file: header, then one line per click. */
export function* clickLines(plan: ClickPlan): Generator<string> {
  const rnd = random(plan.seed ?? 1);
  const now = plan.now ?? Date.now();
  const days = plan.days ?? 30;
  const prefix = plan.prefix ?? "clk-";
  yield "ClickId,CampaignId,MediaId,AdId,EventDate,IpAddress,UserAgent,ReferringUrl,LandingPageUrl,SubId1\n";
  for (let i = 1; i <= plan.count; i++) {
    const partner = plan.partnerIds[Math.floor(rnd() * plan.partnerIds.length)]!;
    const at = now - DAY * days + Math.floor(rnd() * DAY * (days - 1));
    const ip = `198.51.100.${1 + Math.floor(rnd() * 254)}`;
    const agent = AGENTS[Math.floor(rnd() * AGENTS.length)]!;
    yield `${clickId(prefix, i)},${plan.campaignId},${partner},${100 + Math.floor(rnd() * 5)},${iso(at)},${ip},"${agent}",https://partner${partner}.example/reviews,https://shop.example/spring,sub${Math.floor(rnd() * 20)}\n`;
  }
}

export interface ConversionPlan {
  campaignId: number;
  trackerId: number;
  /** Orders are attributed to these clicks (round robin), or by promo code when given. */
  clickIds: (n: number) => string;
  clickCount: number;
  count: number;
  /** Order ids are `${orderPrefix}${n}`. (Default: ORD-) */
  orderPrefix?: string;
  /** Every `promoEvery`-th order uses a promo code instead of a click. */
  promo?: { code: string; every: number };
  seed?: number;
  now?: number;
  currency?: string;
}

export const orderId = (prefix: string, n: number) => `${prefix}${String(n).padStart(8, "0")}`;

/** An order-level conversions file. */
export function* conversionLines(plan: ConversionPlan): Generator<string> {
  const rnd = random(plan.seed ?? 2);
  const now = plan.now ?? Date.now();
  const prefix = plan.orderPrefix ?? "ORD-";
  const currency = plan.currency ?? "USD";
  yield "CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,PromoCode,Amount,CurrencyCode,CustomerId,CustomerStatus\n";
  for (let i = 1; i <= plan.count; i++) {
    const at = iso(now - Math.floor(rnd() * DAY * 10) - 60_000);
    const amount = (5 + rnd() * 495).toFixed(2);
    const promo = plan.promo && i % plan.promo.every === 0;
    const click = promo ? "" : plan.clickIds(((i - 1) % plan.clickCount) + 1);
    const status = rnd() < 0.3 ? "NEW" : "EXISTING";
    yield `${plan.campaignId},${plan.trackerId},${at},${orderId(prefix, i)},${click},${promo ? plan.promo!.code : ""},${amount},${currency},cust-${Math.floor(rnd() * 50_000)},${status}\n`;
  }
}

const PRODUCTS = [
  ["Trail Runner", "Shoes", 89.0],
  ["Merino Socks", "Socks", 14.5],
  ["Rain Shell", "Jackets", 149.0],
  ["Sun Cap", "Hats", 24.0],
  ["Day Pack", "Bags", 69.0],
] as const;

/** An item-level conversions file: `count` orders of 1 to 3 items each (or `itemsPerOrder`). */
export function* itemLines(plan: ConversionPlan & { itemsPerOrder?: number }): Generator<string> {
  const rnd = random(plan.seed ?? 3);
  const now = plan.now ?? Date.now();
  const prefix = plan.orderPrefix ?? "ITEM-";
  yield "CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,CurrencyCode,Sku,Quantity,ItemPrice,Category,Name\n";
  for (let i = 1; i <= plan.count; i++) {
    const at = iso(now - Math.floor(rnd() * DAY * 5) - 60_000);
    const click = plan.clickIds(((i - 1) % plan.clickCount) + 1);
    const items = plan.itemsPerOrder ?? 1 + Math.floor(rnd() * 3);
    for (let k = 0; k < items; k++) {
      const [name, category, price] = PRODUCTS[(i + k) % PRODUCTS.length]!;
      const sku = `SKU-${category.toUpperCase()}-${(i + k) % PRODUCTS.length}`;
      yield `${plan.campaignId},${plan.trackerId},${at},${orderId(prefix, i)},${click},${plan.currency ?? "USD"},${sku},${1 + Math.floor(rnd() * 2)},${price.toFixed(2)},${category},${name}\n`;
    }
  }
}

/** Modifications of some orders of a conversions plan: returns, reversals for fraud, approvals. */
export function* modificationLines(plan: {
  trackerId: number;
  orderPrefix?: string;
  orders: Iterable<number>;
}): Generator<string> {
  const prefix = plan.orderPrefix ?? "ORD-";
  yield "OrderId,ActionTrackerId,Amount,Reason,DispositionCode\n";
  let i = -1;
  for (const n of plan.orders) {
    i++;
    const order = orderId(prefix, n);
    if (i % 3 === 0) yield `${order},${plan.trackerId},0,CONS_FRAUD,FRAUD-CHECK\n`;
    else if (i % 3 === 1) yield `${order},${plan.trackerId},1.00,ITEM_RETURNED,RETURN\n`;
    else yield `${order},${plan.trackerId},,APPROVED,\n`;
  }
}

/** A product catalog, as CSV. */
export function* catalogCsvLines(count: number, seed = 4): Generator<string> {
  const rnd = random(seed);
  yield "id,title,description,link,image_link,price,sale_price,availability,brand,gtin,product_type,condition\n";
  for (let i = 1; i <= count; i++) {
    const [name, category, price] = PRODUCTS[i % PRODUCTS.length]!;
    const sale = rnd() < 0.2 ? `${(price * 0.8).toFixed(2)} USD` : "";
    const availability = rnd() < 0.9 ? "in stock" : "out of stock";
    yield `P${String(i).padStart(6, "0")},${name} ${i},"${name}, ${category.toLowerCase()} for the outdoors",https://shop.example/p/${i},https://shop.example/img/${i}.jpg,${price.toFixed(2)} USD,${sale},${availability},Acme,${String(4006381333931 + i)},${category},new\n`;
  }
}

/** A product catalog, as Google-Merchant-style RSS. */
export function* catalogXmlLines(count: number): Generator<string> {
  yield '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">\n<channel>\n<title>Acme</title>\n';
  for (let i = 1; i <= count; i++) {
    const [name, category, price] = PRODUCTS[i % PRODUCTS.length]!;
    yield `<item><g:id>P${String(i).padStart(6, "0")}</g:id><title>${name} ${i}</title><link>https://shop.example/p/${i}</link><g:price>${price.toFixed(2)} USD</g:price><g:availability>in stock</g:availability><g:brand>Acme</g:brand><g:product_type>${category}</g:product_type><g:condition>new</g:condition></item>\n`;
  }
  yield "</channel>\n</rss>\n";
}

/** All lines of a generator as one string (small files). */
export const text = (lines: Iterable<string>) => Array.from(lines).join("");
