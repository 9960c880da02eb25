import { describe, expect, it } from "vitest";

import { displayNameSchema, findUnstorableText, MAX_NESTING, storable } from "./text";

describe("findUnstorableText", () => {
  it("accepts ordinary text, emoji and other values", () => {
    expect(
      findUnstorableText({
        name: "Zoë 🚀 漢字",
        n: 1,
        ok: true,
        at: new Date(),
        list: ["a", null],
      }),
    ).toBeUndefined();
  });

  it.each([
    [{ name: "a\u0000b" }, "name", /NUL/],
    [{ list: ["ok", "\ud800"] }, "list.1", /unpaired/],
    [{ deep: { x: "\udc00 low first" } }, "deep.x", /unpaired/],
    [{ ["k\u0000"]: 1 }, "k\u0000", /key/],
  ])("finds %j", (input, path, message) => {
    expect(findUnstorableText(input)).toMatchObject({
      path,
      message: expect.stringMatching(message),
    });
  });

  it("stops at deep nesting without recursion", () => {
    let value: unknown = "leaf";
    for (let i = 0; i < 10_000; i++) value = { v: value };
    expect(findUnstorableText(value)?.message).toContain(`${MAX_NESTING} levels`);
  });
});

describe("storable", () => {
  it("replaces what the database cannot store and keeps the rest", () => {
    const cleaned = storable("ok\u0000 \ud800 \udc00 🚀");
    expect(cleaned).toBe("ok\uFFFD \uFFFD \uFFFD 🚀");
    expect(findUnstorableText(cleaned)).toBeUndefined();
  });
});

describe("displayNameSchema", () => {
  const name = displayNameSchema({ empty: "Name it", max: 20, tooLong: "Too long" });

  it("accepts names in any script, trimmed", () => {
    for (const ok of ["Acme", "Zoë 🚀", "שלום עולם", "مرحبا", "漢字"]) {
      expect(name.parse(` ${ok} `)).toBe(ok);
    }
  });

  it.each([
    "202A",
    "202B",
    "202C",
    "202D",
    "202E",
    "2066",
    "2067",
    "2068",
    "2069",
    "200E",
    "200F",
    "061C",
  ])("refuses U+%s, a text-direction control", (code) => {
    const control = String.fromCharCode(Number.parseInt(code, 16));
    const result = name.safeParse(`Acme${control}exe.txt`);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/invisible text-direction characters/);
  });

  it("says when a name is empty or too long", () => {
    expect(name.safeParse("  ").error?.issues[0]?.message).toBe("Name it");
    expect(name.safeParse("x".repeat(21)).error?.issues[0]?.message).toBe("Too long");
  });
});
