/// <reference lib="dom" />
/**
 * The web UI in a real browser: Debian's Chromium driven by playwright-core against a running `ferry serve`.
 * Sign-in, the Connector wizard step by step (screenshots of each step in test-artifacts/web/), a Password
 * credential read off the page and used by OpenSSH's sftp to upload a real file whose result then shows in
 * the connection's history, public keys checked live, and a second account that sees nothing of the first.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import axe from "axe-core";
import * as openpgp from "openpgp";
import pg from "pg";
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db.js";
import { apiCall, type RunningFerry, startServe } from "../helpers/ferry.js";
import { sftpBatch } from "../helpers/openssh.js";
import { freePort } from "../helpers/ports.js";

const ADMIN_TOKEN = `web_e2e_admin_${randomBytes(8).toString("hex")}`;
const ADMIN_PASSWORD = `web-e2e-${randomBytes(8).toString("hex")}`;
const ARTIFACTS = path.resolve("test-artifacts/web");
const CONNECTIONS = "/settings/technical/connections";

let dir: string;
let database: { url: string; drop: () => Promise<void> };
let ferry: RunningFerry;
let sftpPort: number;
let browser: Browser;
let program: { campaignId: number; trackerId: number; partnerId: number };
/** Problems the pages reported: uncaught errors and console errors other than expected HTTP statuses. */
const consoleErrors: string[] = [];

const api = (method: string, url: string, body?: unknown) =>
  apiCall(ferry.url, ADMIN_TOKEN, method, url, body);

function chromiumPath(): string {
  for (const name of ["chromium", "chromium-browser"]) {
    try {
      return execFileSync("sh", ["-c", `command -v ${name}`])
        .toString()
        .trim();
    } catch {}
  }
  throw new Error('Chromium is missing: run "bash scripts/install-test-tools.sh" (as root)');
}

async function newPage(
  viewport = { width: 1280, height: 900 },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: ferry.url, viewport });
  const page = await context.newPage();
  page.on("pageerror", (e) => consoleErrors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    // Chromium logs every 4xx answer to fetch; those the tests provoke on purpose (wrong key or password, no
    // session, another account's connection) are fine.
    if (m.type() === "error" && !/status of (400|401|404)/.test(m.text())) consoleErrors.push(m.text());
  });
  return { context, page };
}

async function signIn(page: Page, login: string, password: string): Promise<void> {
  await page.goto("/");
  await page.getByLabel("Login", { exact: true }).fill(login);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Connections" }).waitFor();
}

/** A screenshot of a page state, which axe-core also checks (see the last test). */
async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  await accessibility(page, name);
}

/** The contrast ratio of two CSS rgb() colours (WCAG's relative luminance). */
function contrast(a: string, b: string): number {
  const luminance = (css: string) => {
    const [r, g, b] = css
      .match(/\d+(\.\d+)?/g)!
      .slice(0, 3)
      .map(Number)
      .map((v) => {
        const c = v / 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      }) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** axe-core's serious and critical findings per page state, as "rule (impact): elements". */
const axeFindings: Record<string, string[]> = {};

async function accessibility(page: Page, state: string): Promise<void> {
  // Evaluated through the DevTools protocol, which the page's Content-Security-Policy does not govern.
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(axe.source);
  axeFindings[state] = await page.evaluate(async () => {
    const run = (window as unknown as { axe: typeof axe }).axe.run;
    const result = await run(document, { resultTypes: ["violations"] });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
}

// Web-first assertions (vitest has no Playwright `expect`): each waits until true or times out.
const WAIT = 10_000;
const visible = (l: Locator, timeout = WAIT) => l.waitFor({ state: "visible", timeout });
const hasText = (l: Locator, want: string | RegExp, timeout = WAIT) =>
  typeof want === "string"
    ? expect.poll(async () => (await l.textContent())?.trim(), { timeout }).toBe(want)
    : expect.poll(async () => (await l.textContent()) ?? "", { timeout }).toMatch(want);
const contains = (l: Locator, want: string | RegExp, timeout = WAIT) =>
  typeof want === "string"
    ? expect.poll(async () => (await l.textContent()) ?? "", { timeout }).toContain(want)
    : expect.poll(async () => (await l.textContent()) ?? "", { timeout }).toMatch(want);
const hasValue = (l: Locator, want: string | RegExp) =>
  typeof want === "string"
    ? expect.poll(() => l.inputValue(), { timeout: WAIT }).toBe(want)
    : expect.poll(() => l.inputValue(), { timeout: WAIT }).toMatch(want);
const focused = (l: Locator) =>
  expect.poll(() => l.evaluate((el) => el === document.activeElement), { timeout: WAIT }).toBe(true);
const count = (l: Locator, n: number) => expect.poll(() => l.count(), { timeout: WAIT }).toBe(n);
async function retry(timeout: number, fn: () => Promise<void>): Promise<void> {
  const end = Date.now() + timeout;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > end) throw e;
    }
  }
}

const next = (page: Page) => page.getByRole("button", { name: "Next", exact: true }).click();
const stepTitle = (page: Page) => page.locator("#wizard-step-title");

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-web-e2e-"));
  await mkdir(ARTIFACTS, { recursive: true });
  database = await createTestDatabase();
  sftpPort = await freePort();
  ferry = await startServe({
    // The third party's servers run on this machine (loopback), which Ferry refuses by default.
    FERRY_REMOTE_ALLOW_PRIVATE: "127.0.0.1",
    DATABASE_URL: database.url,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_SFTP_PORT: String(sftpPort),
    FERRY_ADMIN_TOKEN: ADMIN_TOKEN,
    FERRY_ADMIN_PASSWORD: ADMIN_PASSWORD,
    FERRY_PUBLIC_HOST: "127.0.0.1",
    FERRY_SCHEDULER_SECONDS: "3600",
  });
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const campaign = await api("POST", "/api/v1/campaigns", { name: "Spring", currency: "USD" });
  const tracker = await api("POST", `/api/v1/campaigns/${campaign.id}/trackers`, {
    name: "Online sale",
    payout: { type: "percent", value: 10 },
    lockDays: 30,
  });
  const partner = await api("POST", "/api/v1/partners", { name: "Partner A" });
  program = { campaignId: campaign.id, trackerId: tracker.id, partnerId: partner.id };
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await ferry?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("the web UI", () => {
  it("refuses a wrong password, then signs the administrator in and out", async () => {
    const { context, page } = await newPage();
    await page.goto("/settings/technical/connections");
    await page.getByLabel("Login", { exact: true }).fill("admin");
    await page.getByLabel("Password", { exact: true }).fill("wrong");
    await page.getByRole("button", { name: "Sign in" }).click();
    await hasText(page.getByRole("alert"), "Wrong login or password");
    await shot(page, "00-sign-in");
    await page.getByLabel("Password", { exact: true }).fill(ADMIN_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Connections" }).waitFor();
    const cookie = (await context.cookies()).find((c) => c.name === "ferry_session");
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe("Strict");
    expect(await page.evaluate(() => document.cookie)).not.toContain("ferry_session");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    // The old cookie is worth nothing now.
    const res = await page.request.get("/api/v1/connections", {
      headers: { cookie: `ferry_session=${cookie!.value}` },
    });
    expect(res.status()).toBe(401);
    await context.close();
  });

  it("creates an outbound Reports connection through the five steps, keeping choices on Back", async () => {
    const { context, page } = await newPage();
    await signIn(page, "admin", ADMIN_PASSWORD);
    await page.getByRole("link", { name: "Create Connection" }).click();

    // 1. Direction: nothing chosen is explained next to the fields.
    await hasText(stepTitle(page), /Step 1 of 5: Direction/);
    await next(page);
    await visible(page.getByText("Give the connection a name"));
    await visible(page.getByText("Choose a direction"));
    await page.getByLabel("Connection name", { exact: true }).fill("Weekly action listing");
    await page.getByLabel(/Receive data from the platform/).check();
    await shot(page, "01-direction");
    await next(page);

    // 2. Type: Reports, which report, format and schedule.
    await hasText(stepTitle(page), /Step 2 of 5: Type/);
    await page.getByLabel(/^Reports/).check();
    await page.getByLabel("Report", { exact: true }).selectOption("action_listing");
    await page.getByLabel("Format", { exact: true }).selectOption("tsv");
    await page.getByLabel("Schedule", { exact: true }).selectOption("weekly");
    await page.getByLabel("Day of week", { exact: true }).selectOption("friday");
    await page.getByLabel("Time (HH:MM)", { exact: true }).fill("25:00");
    await next(page);
    await visible(page.getByText("must be HH:MM, 24-hour"));
    await page.getByLabel("Time (HH:MM)", { exact: true }).fill("06:30");
    await count(page.getByText("must be HH:MM, 24-hour"), 0);
    // The schedule says which clock it keeps.
    await visible(page.getByText("In the account's time zone: UTC"));
    await shot(page, "02-type");
    await next(page);

    // 3. Method: SFTP and "Pull from platform" preselected.
    await hasText(stepTitle(page), /Step 3 of 5: Method/);
    await hasValue(page.getByLabel("Method", { exact: true }), "sftp");
    await hasValue(page.getByLabel("Methodology", { exact: true }), "pull_from_platform");
    await shot(page, "03-method");
    // Email would need the SMTP relay this server has not got: said before anything is made.
    await page.getByLabel("Method", { exact: true }).selectOption("email");
    await contains(page.getByTestId("no-email"), "Ferry can't send email yet: ask your administrator");
    // Email needs no credential: its step is passed over.
    await contains(page.getByRole("list", { name: "Steps" }), "Credentials (not needed)");
    await shot(page, "03b-method-no-email");
    await page.getByLabel("Method", { exact: true }).selectOption("sftp");
    await count(page.getByTestId("no-email"), 0);
    // Back keeps every choice.
    await page.getByRole("button", { name: "Back" }).click();
    await hasValue(page.getByLabel("Report", { exact: true }), "action_listing");
    await hasValue(page.getByLabel("Format", { exact: true }), "tsv");
    await hasValue(page.getByLabel("Day of week", { exact: true }), "friday");
    await page.getByRole("button", { name: "Back" }).click();
    await hasValue(page.getByLabel("Connection name", { exact: true }), "Weekly action listing");
    await next(page);
    await next(page);
    await next(page);

    // 4. Credentials: the account has none yet, so the step opens on creating one (a Public Key, validated
    // live); Next with no name says what is missing, then Next creates it.
    await hasText(stepTitle(page), /Step 4 of 5: Credentials/);
    expect(await page.getByLabel("Create a new credential", { exact: true }).isChecked()).toBe(true);
    await next(page);
    await visible(page.getByText("Give the credential a name"));
    await page.getByLabel("Credential name", { exact: true }).fill("Reporting server");
    await page
      .getByLabel("Public key", { exact: true })
      .fill("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7 short");
    await contains(page.locator(".field.invalid .error"), /./);
    const keyFile = path.join(dir, "reports_key");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "reports", "-f", keyFile]);
    const publicKey = (await readFile(`${keyFile}.pub`, "utf8")).trim();
    const fingerprint = execFileSync("ssh-keygen", ["-lf", `${keyFile}.pub`])
      .toString()
      .split(" ")[1]!;
    await page.getByLabel("Public key", { exact: true }).fill(publicKey);
    await contains(page.getByTestId("key-fingerprint"), fingerprint);
    await shot(page, "04-credentials");
    await count(page.getByRole("button", { name: "Create credential" }), 0);
    await next(page);

    // 5. Review, then Create.
    await hasText(stepTitle(page), /Step 5 of 5: Review/);
    const review = page.getByTestId("review");
    await contains(review, "Weekly action listing");
    await contains(review, "Action Listing");
    await contains(review, "TSV");
    await contains(review, "Weekly on friday at 06:30");
    await contains(review, "Pull from platform");
    await contains(review, "Reporting server");
    await visible(page.getByText("cannot be deleted once created"));
    await shot(page, "05-review");
    await page.getByRole("button", { name: "Create", exact: true }).click();
    await visible(page.getByRole("heading", { name: /created/ }));
    const address = await page.getByTestId("copy-address").textContent();
    expect(address).toMatch(
      new RegExp(`^sftp://[a-z0-9-]+@127\\.0\\.0\\.1:${sftpPort}/weekly-action-listing/$`),
    );
    await shot(page, "06-created");

    // What the API holds is what was chosen.
    const [created] = (await api("GET", "/api/v1/connections?direction=outbound")).items;
    expect(created).toMatchObject({
      name: "Weekly action listing",
      dataType: "reports",
      method: "sftp",
      methodology: "pull_from_platform",
      details: {
        report: "action_listing",
        format: "tsv",
        schedule: { frequency: "weekly", dayOfWeek: "friday", time: "06:30" },
      },
    });
    await page.getByRole("link", { name: "Open the connection's page" }).click();
    await visible(page.getByRole("heading", { name: "Weekly action listing" }));
    await visible(page.getByRole("button", { name: "Run now" }));

    // A double click on Run now sends one request; the button says it is busy meanwhile.
    let requests = 0;
    await page.route(`**/api/v1/connections/${created.id}/runs`, async (route) => {
      if (route.request().method() === "POST") requests++;
      await new Promise((r) => setTimeout(r, 800));
      await route.continue();
    });
    await page.getByRole("button", { name: "Run now" }).dblclick();
    const busy = page.getByRole("button", { name: "Starting…" });
    await visible(busy);
    expect(await busy.isDisabled()).toBe(true);
    expect(await busy.getAttribute("aria-busy")).toBe("true");
    await visible(page.getByText("A file for yesterday is being generated"));
    await visible(page.getByRole("button", { name: "Run now" }));
    expect(requests).toBe(1);
    await page.unroute(`**/api/v1/connections/${created.id}/runs`);
    expect((await api("GET", `/api/v1/connections/${created.id}/runs`)).items).toHaveLength(1);
    await context.close();
  });

  it("keeps the wizard's step in the URL and its draft through an expired session; leaving asks first", async () => {
    const { context, page } = await newPage();
    await signIn(page, "admin", ADMIN_PASSWORD);
    await page.goto(`${CONNECTIONS}/new`);
    await page.getByLabel("Connection name", { exact: true }).fill("Draft kept");
    await page.getByLabel(/Give data to the platform/).check();
    await next(page);
    await page.getByLabel(/^Clicks/).check();
    await next(page);
    await hasText(stepTitle(page), /Step 3 of 5: Method/);
    expect(new URL(page.url()).search).toBe("?step=3");
    // The browser's Back and Forward move one step, keeping every choice.
    await page.goBack();
    await hasText(stepTitle(page), /Step 2 of 5: Type/);
    expect(await page.getByLabel(/^Clicks/).isChecked()).toBe(true);
    await page.goForward();
    await hasText(stepTitle(page), /Step 3 of 5: Method/);
    // Leaving with typed input asks first; saying no stays.
    const asked: string[] = [];
    page.on("dialog", (d) => {
      asked.push(d.message());
      void (d.type() === "confirm" && asked.length === 1 ? d.dismiss() : d.accept());
    });
    await page.getByRole("link", { name: "Credentials", exact: true }).click();
    expect(asked[0]).toBe("Leave this connection unfinished? What you typed is lost.");
    await hasText(stepTitle(page), /Step 3 of 5: Method/);
    // The session ends (signed out elsewhere) and the page reloads: sign in again, the draft is there.
    await page.request.delete("/api/v1/session", { headers: { "x-ferry-csrf": "1" } });
    await page.reload();
    await page.getByLabel("Login", { exact: true }).fill("admin");
    await page.getByLabel("Password", { exact: true }).fill(ADMIN_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await hasText(stepTitle(page), /Step 3 of 5: Method/);
    await contains(page.getByTestId("draft-kept"), "Your draft is as you left it");
    await page.getByRole("button", { name: "Back" }).click();
    await page.getByRole("button", { name: "Back" }).click();
    await hasValue(page.getByLabel("Connection name", { exact: true }), "Draft kept");
    // Cancel asks too; yes leaves, and the draft goes.
    await page.getByRole("link", { name: "Cancel" }).click();
    await page.getByRole("heading", { name: "Connections", level: 1 }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem("ferry.wizard.draft"))).toBeNull();
    await context.close();
  });

  it("says a report mailed without a relay was not delivered: the page warns, the file and the list say failed", async () => {
    const mailed = await api("POST", "/api/v1/connections", {
      name: "Mailed report",
      direction: "outbound",
      dataType: "reports",
      method: "email",
      methodology: "pull_from_platform",
      details: { report: "action_listing", recipients: ["ops@partner.test"] },
    });
    const { context, page } = await newPage();
    await signIn(page, "admin", ADMIN_PASSWORD);
    await page.goto(`${CONNECTIONS}/${mailed.id}`);
    await contains(page.getByTestId("no-email"), "Ferry can't send email yet");
    await page.getByRole("button", { name: "Run now" }).click();
    const row = page.getByTestId("history").locator("tbody tr").first();
    await retry(30_000, async () => {
      await page.getByRole("button", { name: "Refresh" }).click();
      await contains(row, "delivery failed", 1000);
    });
    await contains(row, "No SMTP relay is configured");
    // A generated file has rows and downloads, not rows taken and refused.
    await hasText(row.locator('td[data-label="Downloads"]'), "0");
    await hasText(row.locator('td[data-label="Rows"]'), /^\d+$/);
    await contains(page.getByTestId("attributes"), "Failed");
    await contains(
      page.getByTestId("status-problem"),
      /was not delivered: No SMTP relay is configured.*Ask your administrator to set up email\.$/,
    );
    await shot(page, "13-delivery-failed");
    await page.getByRole("link", { name: "← All connections" }).click();
    const listed = page.getByRole("row", { name: /Mailed report/ });
    await contains(listed, "Failed");
    // …and in the list, the reason as the Status cell's tooltip.
    expect(await listed.locator('td[data-label="Status"]').getAttribute("title")).toMatch(
      /was not delivered/,
    );
    await context.close();
  });

  it("creates an inbound SFTP connection with a new password that OpenSSH's sftp then uses; the result shows", async () => {
    const { context, page } = await newPage();
    await signIn(page, "admin", ADMIN_PASSWORD);
    await page.goto(`${CONNECTIONS}/new`);
    await page.getByLabel("Connection name", { exact: true }).fill("Orders from shop");
    await page.getByLabel(/Give data to the platform/).check();
    await next(page);
    await page.getByLabel(/^Conversions/).check();
    await next(page);
    await hasValue(page.getByLabel("Methodology", { exact: true }), "push_to_platform");
    await page.getByLabel("Errors file compression", { exact: true }).selectOption("gzip");
    await page.getByLabel("File encoding", { exact: true }).selectOption("windows-1252");
    await page.getByLabel(/^Expect a file on set days/).check();
    await page.getByLabel("Friday", { exact: true }).uncheck();
    await page.getByLabel("Expected by", { exact: true }).fill("10:30");
    await next(page);
    await page.getByLabel("Create a new credential", { exact: true }).check();
    await page.getByLabel("Credential name", { exact: true }).fill("Shop uploads");
    await page.getByLabel(/^Password/).check();
    // One move: Next creates the credential; Review shows its password, which has the focus.
    await next(page);
    await hasText(stepTitle(page), /Step 5 of 5: Review/);
    await visible(page.getByText("it will not be shown again"));
    await focused(page.getByTestId("secret-once"));
    const username = (await page.getByTestId("copy-username").textContent())!;
    const password = (await page.getByTestId("copy-password").textContent())!;
    expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
    await contains(page.getByTestId("review"), "Shop uploads");
    await contains(page.getByTestId("review"), "Windows-1252 (Western European)");
    await contains(page.getByTestId("review"), "mon, tue, wed, thu by 10:30");
    await shot(page, "10-password-shown-once");
    await page.getByRole("button", { name: "Create", exact: true }).click();
    await contains(page.getByTestId("copy-address"), `sftp://${username}@`);
    // The password is shown once more on the last page, never after.
    await page.getByRole("link", { name: "Open the connection's page" }).click();
    await visible(page.getByRole("heading", { name: "Orders from shop" }));
    expect(await page.content()).not.toContain(password);

    const day = `${new Date(Date.now() - 86_400_000).toISOString().slice(0, 19)}Z`;
    const p = program;
    const file = [
      "CampaignId,ActionTrackerId,EventDate,OrderId,MediaId,Amount",
      `${p.campaignId},${p.trackerId},${day},W-1,${p.partnerId},10.00`,
      `${p.campaignId},${p.trackerId},${day},W-2,${p.partnerId},25.50`,
      `${p.campaignId},${p.trackerId},not-a-date,W-3,${p.partnerId},5.00`,
    ].join("\n");
    await writeFile(path.join(dir, "orders.csv"), `${file}\n`);
    const upload = await sftpBatch({ port: sftpPort, username, password, workDir: dir }, [
      "cd orders-from-shop/inbox",
      `put ${path.join(dir, "orders.csv")}`,
    ]);
    expect(upload.stderr).toBe("");
    expect(upload.code).toBe(0);

    const row = page.getByTestId("history").locator("tbody tr").first();
    await retry(30_000, async () => {
      await page.getByRole("button", { name: "Refresh" }).click();
      await contains(row, "partial", 1000);
    });
    await contains(row, "orders.csv");
    await hasText(row.locator('td[data-label="Rows ok"]'), "2");
    await hasText(row.locator('td[data-label="Rows failed"]'), "1");
    await row.getByRole("button", { name: "View errors" }).click();
    await contains(page.getByTestId("row-errors"), "INVALID_DATE");
    await hasText(page.getByTestId("row-errors").locator("tbody td").first(), "4");
    // The connection gzips its errors file, as chosen in the wizard: the rows above were read from it.
    const errorsFile = page.waitForEvent("download");
    await row.getByRole("link", { name: "Errors", exact: true }).click();
    expect((await errorsFile).suggestedFilename()).toBe("orders_errors.csv.gz");
    expect(gunzipSync(await readFile((await (await errorsFile).path())!)).toString()).toMatch(
      /^4,.*,INVALID_DATE,/m,
    );
    // The original downloads as it was sent.
    const download = page.waitForEvent("download");
    await row.getByRole("link", { name: "Original orders.csv" }).click();
    expect(await readFile(await (await download).path(), "utf8")).toBe(`${file}\n`);
    await contains(page.getByTestId("activity-chart"), "2 rows ok, 1 row failed");
    // One file, some of its rows refused: partial, in the chart, the row and the Status.
    await contains(page.getByTestId("activity-chart"), "Files: 0 ok, 1 partial, 0 failed");
    await contains(row, "partial");
    await contains(page.getByTestId("attributes"), "Partial");
    await visible(page.getByText("mon, tue, wed, thu by 10:30 (else a file.missing event)"));
    await contains(page.getByTestId("status-problem"), "Some rows of orders.csv were refused: View errors");
    await shot(page, "11-history");

    // What the partner's client needs, apart and as one block; a lost password reset right here, which
    // OpenSSH's sftp then logs in with.
    const handOff = page.getByTestId("hand-off");
    await contains(handOff, `Host127.0.0.1`);
    await contains(handOff, `Port${sftpPort}`);
    await contains(handOff, `Username${username}`);
    await contains(handOff, "Upload to/orders-from-shop/inbox/");
    await contains(handOff, "CredentialShop uploads (password)");
    expect(await handOff.getByRole("link", { name: "Shop uploads" }).getAttribute("href")).toMatch(
      /^\/settings\/technical\/credentials#/,
    );
    await contains(handOff.getByRole("button", { name: "Copy all connection details" }), "Copy all");
    const block = await handOff.locator('[data-copy="Connection details"]').textContent();
    expect(block).toContain(`Host: 127.0.0.1\nPort: ${sftpPort}\nUsername: ${username}`);
    expect(block).toContain("Upload files to: /orders-from-shop/inbox/");
    const asked: string[] = [];
    page.once("dialog", (d) => {
      asked.push(d.message());
      void d.accept();
    });
    await handOff.getByRole("button", { name: "Reset password of Shop uploads" }).click();
    await focused(handOff.getByTestId("secret-once"));
    expect(asked[0]).toMatch(
      /Reset the password of “Shop uploads”\? Clients using the old one are refused\.$/,
    );
    const renewed = (await handOff.getByTestId("copy-password").textContent())!;
    expect(renewed).not.toBe(password);
    await shot(page, "14-hand-off");
    const again = await sftpBatch({ port: sftpPort, username, password: renewed, workDir: dir }, [
      "ls orders-from-shop",
    ]);
    expect(again.code, again.stderr).toBe(0);

    // The list shows its status and last activity.
    await page.getByRole("link", { name: "← All connections" }).click();
    const listed = page.getByRole("row", { name: /Orders from shop/ });
    await contains(listed, "Partial");
    await contains(listed, "Conversions");
    await context.close();
  });

  it("uploads a file from the connection page through the same pipeline", async () => {
    const { context, page } = await newPage();
    await signIn(page, "admin", ADMIN_PASSWORD);
    await page.getByRole("link", { name: "Orders from shop", exact: true }).click();
    const p = program;
    const day = `${new Date(Date.now() - 86_400_000).toISOString().slice(0, 19)}Z`;
    await page.getByLabel("File to upload", { exact: true }).setInputFiles({
      name: "more-orders.csv",
      mimeType: "text/csv",
      buffer: Buffer.from(
        [
          "CampaignId,ActionTrackerId,EventDate,OrderId,MediaId,Amount",
          `${p.campaignId},${p.trackerId},${day},U-1,${p.partnerId},7.00`,
          `${p.campaignId},${p.trackerId},yesterday,U-2,${p.partnerId},7.00`,
          `${p.campaignId},${p.trackerId},${day},U-3,${p.partnerId},-1`,
        ].join("\n"),
      ),
    });
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    // The notice follows the file to its outcome, in words, with the way to its refused rows.
    const result = page.getByTestId("upload-result");
    await contains(result, "more-orders.csv partly processed. 3 rows: 1 ok, 2 failed.", 30_000);
    const row = page.getByTestId("history").locator("tbody tr", { hasText: "more-orders.csv" });
    await contains(row, "partial");
    expect(await row.getAttribute("aria-current")).toBe("true");
    await hasText(row.locator('td[data-label="Rows ok"]'), "1");
    await result.getByRole("button", { name: "View errors" }).click();
    await contains(page.getByTestId("row-errors"), "INVALID_DATE");
    await contains(page.getByTestId("row-errors"), "NEGATIVE_AMOUNT");
    await shot(page, "12-upload-result");
    // Processed again: a new attempt above it, the first kept; the row applied before comes back a duplicate.
    await row.getByRole("button", { name: "Process again" }).click();
    const attempt = page.getByTestId("history").locator("tbody tr", { hasText: "Processed again" }).first();
    await retry(30_000, async () => {
      await page.getByRole("button", { name: "Refresh" }).click();
      await contains(attempt, "rejected", 1000);
    });
    await contains(attempt, "more-orders.csv");
    await hasText(attempt.locator('td[data-label="Rows ok"]'), "0");
    // How long its files are kept, and what it stores now (after a reload: the figures are the server's).
    await page.reload();
    const attributes = page.getByTestId("attributes");
    await contains(attributes, "Files 90 days (account setting), result files 90 days (account setting)");
    await contains(attributes, /Stored now\s*\d+ files?, [\d.]+ (B|KB); results: \d+ files?, [\d.]+ (B|KB)/);
    await context.close();
  });

  it("edits and disables a connection, which is never deleted", async () => {
    const { context, page } = await newPage();
    await signIn(page, "admin", ADMIN_PASSWORD);
    await page.getByRole("link", { name: "Edit Weekly action listing" }).click();
    await page.getByLabel("Connection name", { exact: true }).fill("");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await contains(page.locator(".field.invalid"), "Connection name");
    await page.getByLabel("Connection name", { exact: true }).fill("Friday action listing");
    await page.getByLabel("Schedule", { exact: true }).selectOption("daily");
    await page.getByLabel("Keep files (days)", { exact: true }).fill("45");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await visible(page.getByText("Changes saved."));
    await visible(page.getByRole("heading", { name: "Friday action listing" }));
    // The file name template with what it makes of yesterday's file (the folder keeps its first name).
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10).replaceAll("-", "");
    await hasText(page.getByTestId("example-file-name"), `e.g. weekly-action-listing_${yesterday}.tsv`);
    await contains(page.getByTestId("attributes"), "Files 45 days");
    await page.getByRole("button", { name: "Disable" }).click();
    await visible(page.getByText("Connection disabled."));
    await visible(page.getByRole("button", { name: "Enable" }));
    await count(page.getByRole("button", { name: /delete/i }), 0);
    await page.getByRole("link", { name: "← All connections" }).click();
    await count(page.getByRole("row", { name: /Friday action listing/ }), 0);
    await page.getByLabel("Show", { exact: true }).selectOption("disabled");
    await visible(page.getByRole("row", { name: /Friday action listing/ }));
    await context.close();
  });

  it("lists credentials with their use, resets a password once, and refuses a bad replacement key", async () => {
    const { context, page } = await newPage();
    page.on("dialog", (d) => void d.accept());
    await signIn(page, "admin", ADMIN_PASSWORD);
    await page.getByRole("link", { name: "Credentials" }).click();
    const shop = page.getByRole("row", { name: /Shop uploads/ });
    await contains(shop, "Orders from shop");
    await contains(shop, "Password");
    await shop.getByRole("button", { name: "Reset password" }).click();
    // The new secret takes the focus: a screen reader reads it out, the keyboard is there.
    await focused(page.getByTestId("secret-once"));
    const password = (await page.getByTestId("copy-password").textContent())!;
    expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
    await page.getByRole("button", { name: "I have stored it" }).click();
    await count(page.getByTestId("secret-once"), 0);
    const reports = page.getByRole("row", { name: /Reporting server/ });
    await contains(reports, "SHA256:");
    await reports.getByRole("button", { name: "Rename / replace key" }).click();
    await page.getByLabel("Public key", { exact: true }).fill("ssh-ed25519 AAAA");
    await visible(page.locator(".field.invalid .error"));
    await page.getByLabel("Public key", { exact: true }).fill("");
    await page.getByLabel("Credential name", { exact: true }).fill("Reporting server (new)");
    await page.getByLabel("Sessions at once", { exact: true }).fill("300");
    await page.getByRole("button", { name: "Save credential" }).click();
    await visible(page.locator(".field.invalid .error"));
    await page.getByLabel("Sessions at once", { exact: true }).fill("4");
    await page.getByRole("button", { name: "Save credential" }).click();
    const renamed = page.getByRole("row", { name: /Reporting server \(new\)/ });
    await contains(renamed, "up to 4 sessions at once");
    await shot(page, "20-credentials");
    await context.close();
  });

  it("sets up a pull from a third party's SFTP server and shows each pull's outcome in words", async () => {
    const { context, page } = await newPage();
    await signIn(page, "admin", ADMIN_PASSWORD);
    await page.goto(`${CONNECTIONS}/new`);
    await page.getByLabel("Connection name", { exact: true }).fill("Clicks from partner server");
    await page.getByLabel(/Give data to the platform/).check();
    await next(page);
    await page.getByLabel(/^Clicks/).check();
    await next(page);
    await page.getByLabel("Methodology", { exact: true }).selectOption("pull_from_third_party");
    await next(page);
    await visible(page.getByText("Give the server's host name or IP address"));
    // The connection rules the API applies, checked in the browser before Next.
    await page.getByLabel("Host", { exact: true }).fill("not a host!");
    await page.getByLabel("Port", { exact: true }).fill("70000");
    await page.getByLabel("Username", { exact: true }).fill("partner");
    await page.getByLabel("Log in with", { exact: true }).selectOption("key");
    await contains(page.locator(".ferry-key"), "ssh-ed25519 ");
    await page.getByLabel("Folder", { exact: true }).fill("outgoing");
    await page.getByLabel("File pattern", { exact: true }).fill("clicks_*.csv");
    await next(page);
    await visible(page.getByText("must be a host name or an IP address"));
    await visible(page.getByText("must be a whole number from 1 to 65535"));
    await visible(page.getByText("must be an absolute path starting with /"));
    await page.getByLabel("Host", { exact: true }).fill("127.0.0.1");
    await page.getByLabel("Port", { exact: true }).fill(String(await freePort()));
    await page.getByLabel("Folder", { exact: true }).fill("/outgoing");
    await count(page.getByText("must be a whole number from 1 to 65535"), 0);
    // Test connection, before anything is saved: nobody listens on that port, which it says in words.
    await page.getByRole("button", { name: "Test connection" }).click();
    await contains(page.getByTestId("test-login"), /The test failed: host unreachable: 127\.0\.0\.1:\d+/);
    await shot(page, "40-pull-method");
    // Ferry logs in to their server with the details above: the Credentials step is passed over.
    await next(page);
    await hasText(stepTitle(page), /Step 5 of 5: Review/);
    await page.getByRole("button", { name: "Back" }).click();
    await hasText(stepTitle(page), /Step 3 of 5: Method/);
    await next(page);
    const review = page.getByTestId("review");
    await contains(review, "Pull from 3rd party");
    await contains(review, "Ferry's key");
    await contains(review, "clicks_*.csv");
    await page.getByRole("button", { name: "Create", exact: true }).click();
    await page.getByRole("link", { name: "Open the connection's page" }).click();
    await page.getByRole("button", { name: "Pull now" }).click();
    await contains(page.getByTestId("pulls"), "host unreachable", 30_000);
    // The reason is where the eye lands: the Status row, with the next step, and the empty history.
    await contains(
      page.getByTestId("status-problem"),
      /^The last pull failed: .*host unreachable.*Pull now\.$/,
    );
    await contains(
      page.locator("#history"),
      /No files yet\. The last pull failed: .*Each attempt is listed under Pulls above\./,
    );
    await shot(page, "41-pull-failed");
    await page.getByRole("link", { name: "← All connections" }).click();
    await contains(page.getByRole("row", { name: /Clicks from partner server/ }), "Failed");
    await context.close();
  });

  it("manages security: a token shown once and revoked, a user disabled, a password changed", async () => {
    const account = await api("POST", "/api/v1/accounts", { name: "Secure brand", type: "brand" });
    const alice = await api("POST", `/api/v1/accounts/${account.id}/users`, { login: "alice@secure.test" });
    const bob = await api("POST", `/api/v1/accounts/${account.id}/users`, { login: "bob@secure.test" });
    const bobs = await newPage();
    await signIn(bobs.page, "bob@secure.test", bob.password);
    const { context, page } = await newPage();
    page.on("dialog", (d) => void d.accept());
    await signIn(page, "alice@secure.test", alice.password);
    await page.getByRole("link", { name: "Security" }).click();
    await page.getByLabel("Token name", { exact: true }).fill("Nightly ETL");
    await page.getByLabel("Expires in days (1-365)", { exact: true }).fill("30");
    await page.getByRole("button", { name: "Create token" }).click();
    const token = (await page.getByTestId("copy-api-token").textContent())!;
    expect(token).toMatch(/^fry_/);
    const works = () =>
      fetch(`${ferry.url}/api/v1/connections`, { headers: { authorization: `Bearer ${token}` } }).then(
        (r) => r.status,
      );
    expect(await works()).toBe(200);
    const row = page.getByTestId("tokens").getByRole("row", { name: /Nightly ETL/ });
    await contains(row, "working");
    await shot(page, "50-security");
    await row.getByRole("button", { name: "Revoke" }).click();
    await contains(row, "revoked");
    expect(await works()).toBe(401);
    await page
      .getByTestId("users")
      .getByRole("row", { name: /bob@secure\.test/ })
      .getByRole("button", { name: "Disable" })
      .click();
    await contains(page.getByTestId("users").getByRole("row", { name: /bob@secure\.test/ }), "disabled");
    // Bob's open session ended with it.
    expect((await bobs.page.request.get("/api/v1/session")).status()).toBe(401);
    await bobs.context.close();
    await page.getByLabel("Current password", { exact: true }).fill(alice.password);
    await page.getByLabel("New password", { exact: true }).fill("alice-new-password-2026");
    await page.getByLabel("New password again", { exact: true }).fill("alice-new-password-2026");
    await page.getByRole("button", { name: "Change password" }).click();
    await visible(page.getByText("Password changed."));
    await page.getByRole("button", { name: "Sign out everywhere" }).click();
    await visible(page.getByRole("button", { name: "Sign in" }));
    await signIn(page, "alice@secure.test", "alice-new-password-2026");
    await context.close();
  });

  it("gives users roles: an admin adds a member (password once) and promotes them; a member only reads settings", async () => {
    const account = await api("POST", "/api/v1/accounts", { name: "Roles brand", type: "brand" });
    const frank = await api("POST", `/api/v1/accounts/${account.id}/users`, { login: "frank@roles.test" });
    expect(frank.accountRole).toBe("admin");
    const admin = await newPage();
    await signIn(admin.page, "frank@roles.test", frank.password);
    await admin.page.getByRole("link", { name: "Security" }).click();
    await admin.page.getByLabel("Login", { exact: true }).fill("gina@roles.test");
    await admin.page.getByLabel("Role", { exact: true }).selectOption("member");
    await admin.page.getByRole("button", { name: "Add user" }).click();
    const password = (await admin.page.getByTestId("copy-password").textContent())!;
    expect(password.length).toBeGreaterThanOrEqual(16);
    const ginaRow = admin.page.getByTestId("users").getByRole("row", { name: /gina@roles\.test/ });
    await hasValue(ginaRow.getByLabel("Role of gina@roles.test"), "member");
    await shot(admin.page, "51-users-roles");

    // Gina, a member: the account's settings are shown, not changeable; no user management.
    const member = await newPage();
    await signIn(member.page, "gina@roles.test", password);
    await member.page.getByRole("link", { name: "Account" }).click();
    await visible(member.page.getByText(/Only the account's admins change its settings/));
    expect(await member.page.getByLabel("Name", { exact: true }).isDisabled()).toBe(true);
    await count(member.page.getByRole("button", { name: "Save settings" }), 0);
    await shot(member.page, "52-account-as-member");
    await member.page.getByRole("link", { name: "Security" }).click();
    await visible(member.page.getByText("The account's admins add users, change roles and disable users."));
    await count(member.page.getByRole("button", { name: "Add user" }), 0);
    await count(member.page.getByRole("button", { name: "Disable" }), 0);

    // Frank makes her an admin: her next page has the forms.
    await ginaRow.getByLabel("Role of gina@roles.test").selectOption("admin");
    await visible(admin.page.getByText("gina@roles.test is now an admin of the account."));
    await member.page.getByRole("link", { name: "Account" }).click();
    await member.page.reload();
    await visible(member.page.getByRole("button", { name: "Save settings" }));
    expect(await member.page.getByLabel("Name", { exact: true }).isDisabled()).toBe(false);
    const users = await api("GET", `/api/v1/accounts/${account.id}/users`);
    expect(users.items.map((u: { login: string; accountRole: string }) => [u.login, u.accountRole])).toEqual([
      ["frank@roles.test", "admin"],
      ["gina@roles.test", "admin"],
    ]);
    await admin.context.close();
    await member.context.close();
  });

  it("shows the account's storage and sets how long it keeps each kind of file", async () => {
    const account = await api("POST", "/api/v1/accounts", { name: "Keeping brand", type: "brand" });
    const carol = await api("POST", `/api/v1/accounts/${account.id}/users`, { login: "carol@keep.test" });
    const { context, page } = await newPage();
    await signIn(page, "carol@keep.test", carol.password);
    await page.getByRole("link", { name: "Account" }).click();
    await visible(page.getByRole("heading", { name: "Account" }));
    await contains(page.getByTestId("account-attributes"), "Received files stored0 B");
    const received = page.getByLabel("Received files (days)", { exact: true });
    expect(await received.getAttribute("placeholder")).toBe("90");
    await received.fill("0");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await visible(page.locator(".field.invalid"));
    await received.fill("30");
    await page.getByLabel("Generated files (days)", { exact: true }).fill("7");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await visible(page.getByText("Retention saved."));
    await shot(page, "55-account");
    await page.reload();
    await hasValue(page.getByLabel("Received files (days)", { exact: true }), "30");
    await hasValue(page.getByLabel("Result files (days)", { exact: true }), "");
    const saved = await api("GET", `/api/v1/accounts/${account.id}`);
    expect(saved.retention).toEqual({ inboundDays: 30, resultDays: null, outboundDays: 7 });

    // Its settings: a time zone the API refuses says why; a new one says what schedules will do.
    const zone = page.getByLabel("Time zone", { exact: true });
    await zone.fill("Mars/Olympus");
    await page.getByRole("button", { name: "Save settings" }).click();
    await visible(page.locator(".field.invalid").getByText("must be an IANA time zone, e.g. Europe/Paris"));
    await zone.fill("Asia/Tokyo");
    await visible(page.getByText(/Schedules follow the new time zone from their next period on/));
    await page.getByLabel("Name", { exact: true }).fill("Keeping brand Japan");
    await page.getByLabel("Default currency", { exact: true }).fill("jpy");
    await page.getByRole("button", { name: "Save settings" }).click();
    await visible(page.getByText("Account settings saved."));
    await contains(page.getByTestId("account-attributes"), "Asia/Tokyo");
    await hasValue(page.getByLabel("Default currency", { exact: true }), "JPY");
    await contains(page.locator(".brand"), "Keeping brand Japan");
    await shot(page, "56-account-settings");
    expect(await api("GET", `/api/v1/accounts/${account.id}`)).toMatchObject({
      name: "Keeping brand Japan",
      timeZone: "Asia/Tokyo",
      currency: "JPY",
    });
    await context.close();
  });

  it("shows the account's audit log: what was done, by whom, narrowed by kind, and as CSV", async () => {
    const account = await api("POST", "/api/v1/accounts", { name: "Audited brand", type: "brand" });
    const dave = await api("POST", `/api/v1/accounts/${account.id}/users`, { login: "dave@audit.test" });
    const { context, page } = await newPage();
    await signIn(page, "dave@audit.test", dave.password);
    await page.getByRole("link", { name: "Account" }).click();
    await page.getByRole("link", { name: "Audit log" }).click();
    await visible(page.getByRole("heading", { name: "Audit log" }));
    // The sign-in just made is there, newest first, by a user.
    const first = page.getByTestId("audit").locator("tbody tr").first();
    await contains(first, "user.login");
    await contains(first, "a user");
    await page.getByLabel("Kind", { exact: true }).selectOption("credential.");
    await visible(page.getByText("No events match."));
    expect(await page.getByRole("link", { name: "Download as CSV" }).getAttribute("href")).toBe(
      "/api/v1/audit.csv?action=credential.",
    );
    await page.getByLabel("Kind", { exact: true }).selectOption("user.");
    await contains(page.getByTestId("audit"), "user.login");
    await shot(page, "57-audit");
    // The CSV link, followed as the browser would (the session cookie), gives the same selection.
    const csv = await page.evaluate(async () => (await fetch("/api/v1/audit.csv?action=user.")).text());
    expect(csv.split("\r\n")[0]).toBe("at,action,actorType,actorId,objectType,objectId,ip,details");
    expect(csv).toMatch(/,user\.login,user,/);
    await context.close();
  });

  it("adds a webhook endpoint (its secret once), sends a test event a receiver verifies, and shows the log", async () => {
    const got: { headers: http.IncomingHttpHeaders; body: string }[] = [];
    const receiver = http.createServer((req, res) => {
      let body = "";
      req.on("data", (d) => {
        body += d;
      });
      req.on("end", () => {
        got.push({ headers: req.headers, body });
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/ferry`;
    try {
      const { context, page } = await newPage();
      await signIn(page, "admin", ADMIN_PASSWORD);
      await page.getByRole("link", { name: "Notifications", exact: true }).click();
      // Email: the signed-in user subscribes to failures, at once.
      await page.getByLabel("Email address", { exact: true }).fill("admin@ferry.test");
      await page
        .getByRole("form", { name: "Subscribe" })
        .getByLabel(/A file could not be processed/)
        .check();
      await page.getByRole("button", { name: "Subscribe", exact: true }).click();
      await contains(
        page.getByTestId("subscriptions"),
        "admin@ferry.test: file.failed of every connection, at once",
      );
      await page.getByLabel("Endpoint URL", { exact: true }).fill(url);
      await page
        .getByRole("form", { name: "Add an endpoint" })
        .getByLabel(/A file could not be processed/)
        .check();
      await page.getByRole("button", { name: "Add endpoint", exact: true }).click();
      const secret = (await page.getByTestId("copy-signing-secret").textContent())!;
      expect(secret).toMatch(/^whsec_/);
      await contains(page.getByTestId("webhook-endpoint"), "Events: file.failed");
      await shot(page, "58-webhook-added");
      await page.getByRole("button", { name: "Send a test event" }).click();
      await contains(page.getByTestId("webhook-deliveries"), "succeeded", 15_000);
      expect(
        new Webhook(secret).verify(got[0]!.body, got[0]!.headers as Record<string, string>),
      ).toMatchObject({
        type: "webhook.test",
      });
      await shot(page, "59-webhook-deliveries");
      await page.reload();
      await contains(page.getByTestId("webhook-deliveries"), "webhook.test");
      expect(await page.content()).not.toContain(secret);
      await context.close();
    } finally {
      receiver.close();
    }
  });

  it("makes a PGP key pair, takes a partner's public key, and encrypts a connection's files to it", async () => {
    const partner = await openpgp.generateKey({
      type: "ecc",
      curve: "curve25519Legacy",
      userIDs: [{ name: "Partner Ops", email: "ops@partner.example" }],
      format: "armored",
    });
    const credential = await api("POST", "/api/v1/credentials", { name: "pgp reports", kind: "password" });
    const report = await api("POST", "/api/v1/connections", {
      name: "Encrypted report",
      direction: "outbound",
      dataType: "reports",
      method: "sftp",
      methodology: "pull_from_platform",
      credentialId: credential.id,
      details: { report: "action_listing" },
    });
    const { context, page } = await newPage();
    await signIn(page, "admin", ADMIN_PASSWORD);
    await page.getByRole("link", { name: "PGP keys", exact: true }).click();
    await page.getByRole("heading", { name: "PGP keys" }).waitFor();
    const own = page.getByRole("table", { name: "Your key pairs" });
    await page.getByRole("form", { name: "Create a key pair" }).getByLabel("Key name").fill("Inbound files");
    await page.getByRole("button", { name: "Create key pair" }).click();
    await contains(own, "Inbound files");
    await contains(own, "Curve25519");
    await contains(own, /([0-9A-F]{4} ){9}[0-9A-F]{4}/);
    // A private key pasted by mistake is refused, and said so by the field.
    const add = page.getByRole("form", { name: "Add a partner's public key" });
    await add.getByLabel("Key name").fill("Partner Ops");
    await add.getByLabel("Public key").fill(partner.privateKey);
    await add.getByRole("button", { name: "Add public key" }).click();
    await contains(add.locator(".field.invalid"), "is a private key; never share it");
    await add.getByLabel("Public key").fill(partner.publicKey);
    await add.getByRole("button", { name: "Add public key" }).click();
    const partners = page.getByRole("table", { name: "Partners' public keys" });
    await contains(partners, "Partner Ops <ops@partner.example>");
    await shot(page, "60-pgp-keys");
    // The public key downloads as a .asc file gpg reads.
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      own.getByRole("link", { name: "Download public key of Inbound files" }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^Inbound_files_[0-9A-F]{16}\.asc$/);
    expect(await readFile((await download.path())!, "utf8")).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);

    await page.goto(`/settings/technical/connections/${report.id}?edit`);
    const encryptTo = page.getByLabel("Encrypt files to", { exact: true });
    await encryptTo.selectOption(
      (await encryptTo.locator("option", { hasText: "Partner Ops" }).getAttribute("value"))!,
    );
    await page.getByLabel("Sign them with your newest PGP key").check();
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await visible(page.getByText("Changes saved."));
    const attributes = page.getByTestId("attributes");
    await contains(attributes, /Encrypted to \(PGP\)\s*Partner Ops \([0-9A-F]{16}\)/);
    await contains(attributes, /Signed with your PGP key\s*Yes/);
    await shot(page, "61-pgp-connection");
    // The key is in use now: the PGP keys page says by what.
    await page.getByRole("link", { name: "PGP keys", exact: true }).click();
    await contains(partners, "Encrypted report");
    await context.close();
  });

  it("shows a second account's user none of the first account's objects", async () => {
    const account = await api("POST", "/api/v1/accounts", { name: "Other brand", type: "brand" });
    const user = await api("POST", `/api/v1/accounts/${account.id}/users`, { login: "other@example.com" });
    const [first] = (await api("GET", "/api/v1/connections")).items;
    const { context, page } = await newPage();
    await signIn(page, "other@example.com", user.password);
    await visible(page.getByText("No connections yet"));
    await contains(page.locator(".brand"), "Other brand");
    await page.goto(`${CONNECTIONS}/${first.id}`);
    await visible(page.getByText("does not exist in your account"));
    await page.goto("/settings/technical/credentials");
    await visible(page.getByText("No credentials yet"));
    // Not through the API with the same cookie either.
    const res = await page.request.get(`/api/v1/connections/${first.id}`);
    expect(res.status()).toBe(404);
    await context.close();
  });

  it("works on a phone-sized screen and with the keyboard alone", async () => {
    const { context, page } = await newPage({ width: 390, height: 844 });
    await page.goto("/");
    await visible(page.getByLabel("Login", { exact: true }));
    // Keyboard only: Tab to the login field, type, Tab, type, Enter.
    await page.keyboard.press("Tab");
    await focused(page.getByLabel("Login", { exact: true }));
    const ring = await page.getByLabel("Login", { exact: true }).evaluate((el) => {
      const style = getComputedStyle(el);
      return {
        style: style.outlineStyle,
        color: style.outlineColor,
        page: getComputedStyle(document.body).backgroundColor,
      };
    });
    expect(ring.style).not.toBe("none");
    // The focus ring stands out from the page around it: contrast at least 3:1 (WCAG 1.4.11).
    expect(
      contrast(ring.color, ring.page === "rgba(0, 0, 0, 0)" ? "rgb(255, 255, 255)" : ring.page),
    ).toBeGreaterThanOrEqual(3);
    await page.keyboard.type("admin");
    await page.keyboard.press("Tab");
    await page.keyboard.type(ADMIN_PASSWORD);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Connections" }).waitFor();
    await visible(page.getByRole("row", { name: /Orders from shop/ }));
    await expect.poll(() => page.title(), { timeout: WAIT }).toBe("Connections · Ferry");
    // A route names the tab and takes the focus to its heading.
    await page.getByRole("link", { name: "Credentials", exact: true }).focus();
    await page.keyboard.press("Enter");
    await focused(page.getByRole("heading", { name: "Credentials", level: 1 }));
    await expect.poll(() => page.title(), { timeout: WAIT }).toBe("Credentials · Ferry");
    await page.getByRole("link", { name: "Connections", exact: true }).focus();
    await page.keyboard.press("Enter");
    await focused(page.getByRole("heading", { name: "Connections", level: 1 }));
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(page, "30-phone-connections");
    await page.getByRole("link", { name: "Create Connection" }).focus();
    await page.keyboard.press("Enter");
    await focused(stepTitle(page));
    await shot(page, "31-phone-wizard");
    // Every form field has a label.
    const unlabelled = await page.evaluate(
      () =>
        [...document.querySelectorAll("input, select, textarea")].filter(
          (el) => !(el as HTMLInputElement).labels?.length && !el.getAttribute("aria-label"),
        ).length,
    );
    expect(unlabelled).toBe(0);
    await context.close();
  });

  it("shows a long history with its total, failures only and up to a day, one request a page", async () => {
    const credentialId = (
      await api("POST", "/api/v1/credentials", { name: "History feed", kind: "password" })
    ).id;
    const c = await api("POST", "/api/v1/connections", {
      name: "History feed",
      direction: "inbound",
      dataType: "conversions",
      method: "sftp",
      methodology: "push_to_platform",
      credentialId,
    });
    const p = program;
    const day = `${new Date(Date.now() - 86_400_000).toISOString().slice(0, 19)}Z`;
    const header = "CampaignId,ActionTrackerId,EventDate,OrderId,MediaId,Amount";
    const row = (order: string, amount: string) =>
      `${p.campaignId},${p.trackerId},${day},${order},${p.partnerId},${amount}`;
    const upload = async (name: string, lines: string[]) => {
      const res = await fetch(`${ferry.url}/api/v1/connections/${c.id}/files?name=${name}`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/octet-stream" },
        body: [header, ...lines].join("\n"),
      });
      expect(res.status).toBe(201);
      const t = (await res.json()) as { id: string };
      for (let i = 0; i < 150; i++) {
        const now = await api("GET", `/api/v1/transfers/${t.id}`);
        if (!["received", "processing"].includes(now.status)) return now;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`${name} was not processed`);
    };
    const old = await upload("old-good.csv", [row("HX-1", "1.00")]);
    expect((await upload("bad.csv", [row("HX-2", "-1")])).status).toBe("rejected");
    expect((await upload("mixed.csv", [row("HX-3", "1.00"), row("HX-4", "x")])).status).toBe("partial");
    // The first file is ten days old.
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    await client.query("UPDATE transfers SET created_at = now() - interval '10 days' WHERE id = $1", [
      old.id,
    ]);
    await client.end();

    const { context, page } = await newPage();
    const perRow: string[] = [];
    page.on("request", (r) => {
      if (/\/api\/v1\/transfers\/[^/]+\/results$/.test(new URL(r.url()).pathname)) perRow.push(r.url());
    });
    await signIn(page, "admin", ADMIN_PASSWORD);
    await page.goto(`${CONNECTIONS}/${c.id}`);
    const history = page.getByTestId("history");
    await hasText(page.getByTestId("history-total"), "3 files");
    await count(history.locator("tbody tr[data-transfer]"), 3);
    // Result files come with the page: no request per row.
    await visible(history.getByRole("link", { name: "Errors" }).first());
    expect(perRow).toEqual([]);
    await page.getByLabel("Only files with failures", { exact: true }).check();
    await hasText(page.getByTestId("history-total"), "2 files with failures");
    await count(history.locator("tbody tr[data-transfer]"), 2);
    await contains(history, "bad.csv");
    await contains(history, "mixed.csv");
    await page.getByLabel("Only files with failures", { exact: true }).uncheck();
    const fiveDaysAgo = new Date(Date.now() - 5 * 86_400_000).toISOString().slice(0, 10);
    await page.getByLabel("Up to day", { exact: true }).fill(fiveDaysAgo);
    await hasText(page.getByTestId("history-total"), `1 file up to ${fiveDaysAgo}`);
    await contains(history.locator("tbody tr[data-transfer]"), "old-good.csv");
    await shot(page, "15-history-filters");
    await context.close();
  });

  it("lists many connections a page at a time, with Push / Pull, and says how many disabled are hidden", async () => {
    const made = await Promise.all(
      Array.from({ length: 101 }, (_, i) =>
        api("POST", "/api/v1/connections", {
          name: `Bulk feed ${String(i).padStart(3, "0")}`,
          direction: "inbound",
          dataType: "clicks",
          method: "email",
          methodology: "push_to_platform",
        }),
      ),
    );
    await api("POST", `/api/v1/connections/${made[0].id}/disable`);
    const all = (await api("GET", "/api/v1/connections?limit=200")).items as { status: string }[];
    const enabled = all.filter((x) => x.status === "active").length;
    const disabled = all.length - enabled;
    expect(enabled).toBeGreaterThan(100);
    const { context, page } = await newPage();
    await signIn(page, "admin", ADMIN_PASSWORD);
    const rows = page.locator("table.list tbody tr");
    await count(rows, 100);
    await hasText(
      page.getByTestId("list-foot"),
      new RegExp(
        `^Showing 100 of ${enabled} connections\\.Show ${enabled - 100} more${disabled} disabled hidden: show them$`,
      ),
    );
    await contains(rows.first(), "Push to platform");
    await page.getByRole("button", { name: `Show ${enabled - 100} more` }).click();
    await count(rows, enabled);
    await page.getByRole("button", { name: `${disabled} disabled hidden: show them` }).click();
    await count(rows, all.length);
    await shot(page, "32-many-connections");
    await context.close();
  });

  it("has no serious or critical accessibility violations (axe-core) in any page state it showed", async () => {
    await writeFile(path.join(ARTIFACTS, "axe.json"), `${JSON.stringify(axeFindings, null, 2)}\n`);
    // The check itself finds what it should: an unlabelled field and an image without text.
    const { context, page } = await newPage();
    await page.setContent('<html lang="en"><title>x</title><main><input><img src="x.png"></main></html>');
    await accessibility(page, "control");
    expect(axeFindings.control!.map((f) => f.split(" ")[0])).toEqual(
      expect.arrayContaining(["label", "image-alt"]),
    );
    delete axeFindings.control;
    await context.close();
    expect(Object.keys(axeFindings).length).toBeGreaterThanOrEqual(20);
    expect(Object.entries(axeFindings).filter(([, found]) => found.length > 0)).toEqual([]);
  });

  it("reported no errors in any page's console", () => {
    expect(consoleErrors.join("\n")).toBe("");
  });
});
