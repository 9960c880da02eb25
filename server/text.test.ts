import { describe, expect, it } from "vitest";

import { findUnstorableText, MAX_NESTING, storable } from "./text";

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
