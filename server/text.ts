import { z } from "zod";

/**
 * PostgreSQL cannot store some strings a JSON body or a form can carry: the
 * NUL character (in text and in jsonb) and, in jsonb, a UTF-16 surrogate
 * without its pair. Deep nesting also breaks the recursive code that
 * serialises values. Inputs are checked for all three before they reach the
 * database, so such input is a 400 with the field's path rather than a 500.
 */
export const MAX_NESTING = 32;

export interface TextProblem {
  path: string;
  message: string;
}

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function textProblem(value: string): string | undefined {
  if (value.includes("\u0000")) return "may not contain the NUL character (\\u0000)";
  if (UNPAIRED_SURROGATE.test(value)) return "contains an unpaired UTF-16 surrogate";

  return undefined;
}

/**
 * The first string (key or value) in `value` that cannot be stored, or nesting deeper than
 * MAX_NESTING.
 */
export function findUnstorableText(value: unknown): TextProblem | undefined {
  const stack: { value: unknown; path: string[] }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === "string") {
      const message = textProblem(current);
      if (message) return { path: path.join("."), message };
      continue;
    }
    if (typeof current !== "object" || current === null || current instanceof Date) continue;
    if (path.length >= MAX_NESTING) {
      return { path: path.join("."), message: `is nested more than ${MAX_NESTING} levels deep` };
    }
    for (const [key, child] of Object.entries(current)) {
      const message = textProblem(key);
      if (message) return { path: [...path, key].join("."), message: `has a key that ${message}` };
      stack.push({ value: child, path: [...path, key] });
    }
  }

  return undefined;
}

/**
 * Makes text from outside (a webhook receiver's reply, an SMTP server's
 * error) storable: NUL characters and unpaired surrogates become U+FFFD.
 */
export function storable(text: string): string {
  return text
    .replaceAll("\u0000", "\uFFFD")
    .replace(new RegExp(UNPAIRED_SURROGATE.source, "g"), "\uFFFD");
}

/**
 * Invisible characters that reorder the text around them: the embeddings and
 * overrides U+202A–U+202E, the isolates U+2066–U+2069 and the marks U+200E,
 * U+200F and U+061C. In a name, a right-to-left override makes "Acme\u202Eexe.txt"
 * read as "Acmetxt.exe" in every list and PDF that prints it.
 */
const BIDI_CONTROL = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;

/**
 * The one rule for names people give things others will read (workspaces,
 * users): trimmed, not empty, at most `max` characters, and free of
 * bidirectional control characters, which are refused rather than stripped
 * so nobody is surprised by what was saved.
 */
export function displayNameSchema(messages: { empty: string; max: number; tooLong: string }) {
  return z
    .string()
    .trim()
    .min(1, messages.empty)
    .max(messages.max, messages.tooLong)
    .refine(
      (name) => !BIDI_CONTROL.test(name),
      "Names may not contain invisible text-direction characters (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F or U+061C)",
    );
}
