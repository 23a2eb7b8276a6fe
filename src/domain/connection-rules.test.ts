import { describe, expect, it } from "vitest";
import {
  DATA_TYPES,
  type DataType,
  DIRECTION_RULES,
  DIRECTIONS,
  type Direction,
  METHODOLOGIES,
  METHODS,
  type Method,
  type Methodology,
  needsCredential,
  validateConnection,
} from "./connection-rules.js";

/** The least a user must give for each methodology × method to be valid. */
function minimalDetails(
  method: Method,
  methodology: Methodology,
  dataType: DataType,
): Record<string, unknown> {
  const report = dataType === "reports" ? { report: "action_listing" } : {};
  if (methodology === "pull_from_third_party") {
    return method === "email"
      ? { host: "imap.example.com", username: "u", password: "p", filePattern: "*.csv" }
      : { host: "files.example.com", username: "u", password: "p", folder: "/out", filePattern: "*.csv" };
  }
  if (methodology === "pull_from_platform") {
    return method === "email" ? { ...report, recipients: ["ops@example.com"] } : report;
  }
  return {};
}

const combos = DIRECTIONS.flatMap((direction) =>
  DATA_TYPES.flatMap((dataType) =>
    METHODS.flatMap((method) =>
      METHODOLOGIES.map((methodology) => ({ direction, dataType, method, methodology })),
    ),
  ),
);

function valid(c: { direction: Direction; dataType: DataType; methodology: Methodology }): boolean {
  const rule = DIRECTION_RULES[c.direction];
  return rule.dataTypes.includes(c.dataType) && rule.methodologies.includes(c.methodology);
}

describe("the combination matrix", () => {
  it.each(combos)("$direction $dataType over $method by $methodology", (c) => {
    const result = validateConnection({
      ...c,
      credentialId: needsCredential(c.method, c.methodology) ? "00000000-0000-7000-8000-000000000000" : null,
      details: minimalDetails(c.method, c.methodology, c.dataType),
    });
    expect(result.ok).toBe(valid(c));
    if (!result.ok && !valid(c)) {
      // The message names the field and lists the allowed values.
      for (const e of result.errors) {
        expect(["dataType", "methodology"]).toContain(e.path);
        expect(e.message).toMatch(/allowed: /);
      }
    }
  });

  it("has 32 valid combinations of the 108", () => {
    // inbound: 4 types × 3 methods × 2 methodologies; outbound: 2 types × 3 methods × 1.
    expect(combos.filter(valid).length).toBe(24 + 6);
    expect(combos.length).toBe(2 * 6 * 3 * 3);
  });
});

const inboundSftpPush = {
  direction: "inbound",
  dataType: "conversions",
  method: "sftp",
  methodology: "push_to_platform",
  credentialId: "00000000-0000-7000-8000-000000000000",
} as const;

function errorsOf(c: Parameters<typeof validateConnection>[0]) {
  const r = validateConnection(c);
  return r.ok ? [] : r.errors;
}

describe("validateConnection", () => {
  it("requires a credential to push to the platform over SFTP", () => {
    expect(errorsOf({ ...inboundSftpPush, credentialId: null, details: {} })).toEqual([
      { path: "credentialId", message: expect.stringMatching(/required/) },
    ]);
  });

  it("refuses a credential on email connections", () => {
    const errors = errorsOf({ ...inboundSftpPush, method: "email", details: {} });
    expect(errors.map((e) => e.path)).toEqual(["credentialId"]);
  });

  it("fills in defaults", () => {
    const r = validateConnection({ ...inboundSftpPush, details: {} });
    expect(r).toEqual({
      ok: true,
      details: {
        allOrNothing: false,
        validateOnly: false,
        errorsCompression: "none",
        encoding: "auto",
        delimiter: "auto",
        pgpEncryption: "accepted",
      },
    });
  });

  it("names an unknown setting and lists the allowed ones", () => {
    const [e] = errorsOf({ ...inboundSftpPush, details: { colour: "red" } });
    expect(e?.path).toBe("details.colour");
    expect(e?.message).toMatch(/allowed: allOrNothing, validateOnly/);
  });

  it("checks pull details field by field", () => {
    const errors = errorsOf({
      ...inboundSftpPush,
      methodology: "pull_from_third_party",
      credentialId: null,
      details: {
        host: "bad host!",
        port: 70000,
        username: "u",
        password: "p",
        folder: "relative/x",
        filePattern: "a/b",
      },
    });
    expect(errors.map((e) => e.path).sort()).toEqual([
      "details.filePattern",
      "details.folder",
      "details.host",
      "details.port",
    ]);
  });

  it("requires the remote password unless one is stored", () => {
    const c = {
      ...inboundSftpPush,
      methodology: "pull_from_third_party" as const,
      credentialId: null,
      details: { host: "h.example.com", username: "u", folder: "/x", filePattern: "*" },
    };
    expect(errorsOf(c).map((e) => e.path)).toEqual(["details.password"]);
    expect(errorsOf({ ...c, hasStoredPassword: true })).toEqual([]);
    expect(errorsOf({ ...c, details: { ...c.details, authMethod: "key" } })).toEqual([]);
  });

  it("requires the report of a reports connection, and a day for weekly schedules", () => {
    const base = {
      ...inboundSftpPush,
      direction: "outbound",
      dataType: "reports",
      methodology: "pull_from_platform",
    } as const;
    expect(errorsOf({ ...base, details: {} }).map((e) => e.path)).toEqual(["details.report"]);
    expect(
      errorsOf({
        ...base,
        details: { report: "action_listing", schedule: { frequency: "weekly", time: "25:00" } },
      }).map((e) => e.path),
    ).toEqual(["details.schedule.time", "details.schedule.dayOfWeek"]);
  });

  it("accepts only known placeholders in file name templates", () => {
    const base = {
      ...inboundSftpPush,
      direction: "outbound",
      dataType: "performance_bonus_detail",
      methodology: "pull_from_platform",
    } as const;
    expect(errorsOf({ ...base, details: { fileNameTemplate: "bonus_{period_start:yyyyMM}.{ext}" } })).toEqual(
      [],
    );
    expect(errorsOf({ ...base, details: { fileNameTemplate: "bonus_{nope}.csv" } })[0]?.message).toMatch(
      /only the placeholders/,
    );
  });

  it("refuses control characters (CR, LF) in file name templates and patterns", () => {
    const outbound = {
      ...inboundSftpPush,
      direction: "outbound",
      dataType: "performance_bonus_detail",
      methodology: "pull_from_platform",
    } as const;
    const [template] = errorsOf({ ...outbound, details: { fileNameTemplate: "a\r\n226 ok.{ext}" } });
    expect(template).toMatchObject({
      path: "details.fileNameTemplate",
      message: expect.stringMatching(/control/),
    });
    const pull = {
      ...inboundSftpPush,
      methodology: "pull_from_third_party",
      credentialId: null,
      details: { host: "h.example", username: "u", password: "p", folder: "/x", filePattern: "*.csv\n" },
    } as const;
    expect(errorsOf(pull).map((e) => e.path)).toEqual(["details.filePattern"]);
  });

  it("requires recipients for outbound email", () => {
    const base = {
      ...inboundSftpPush,
      direction: "outbound",
      dataType: "performance_bonus_detail",
      method: "email",
      methodology: "pull_from_platform",
      credentialId: null,
    } as const;
    expect(errorsOf({ ...base, details: {} }).map((e) => e.path)).toEqual(["details.recipients"]);
    expect(errorsOf({ ...base, details: { recipients: ["not-an-address"] } }).map((e) => e.path)).toEqual([
      "details.recipients.0",
    ]);
  });
});
