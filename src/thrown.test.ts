import { describe, expect, it } from "vitest";
import { coerceError, messageOf } from "./thrown.js";

describe("whatever was thrown", () => {
  it("is the same Error when it is one", () => {
    const e = new TypeError("bad");
    expect(coerceError(e)).toBe(e);
    expect(messageOf(e)).toBe("bad");
  });

  it("becomes an Error with a readable message and the value as its cause", () => {
    expect(messageOf("plain string")).toBe("plain string");
    expect(messageOf({ message: "from an object", code: 42 })).toBe("from an object");
    expect(messageOf({ code: "E1" })).toBe('{"code":"E1"}');
    expect(messageOf(undefined)).toBe("undefined");
    expect(messageOf(7n)).toBe("7");
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(messageOf(circular)).toBe("[object Object]");
    expect(coerceError("x").cause).toBe("x");
  });
});
