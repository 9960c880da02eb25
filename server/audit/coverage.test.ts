import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

import { beforeAll, describe, expect, it } from "vitest";

import { commandsDefined } from "@/server/commands";

import { auditExemptions } from "./exemptions";

const root = path.resolve(__dirname, "../..");

interface SourceCommand {
  file: string;
  name: string;
  /** The command's source can finish with `audit: false` (or `cond ? false : …`). */
  skipsAudit: boolean;
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });

  return entries
    .filter((entry) => entry.isFile() && /\.tsx?$/.test(entry.name))
    .filter((entry) => !/\.test\.tsx?$/.test(entry.name))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/**
 * Every `defineCommand({ name: "…" … })` in the server's and the reactions'
 * sources, read as text: the block from one call to the next is that
 * command's code.
 */
async function commandsInSources(): Promise<SourceCommand[]> {
  const files = [
    ...(await sourceFiles(path.join(root, "server"))),
    ...(await sourceFiles(path.join(root, "inngest"))),
  ];
  const found: SourceCommand[] = [];
  for (const file of files) {
    const text = await readFile(file, "utf8");
    const blocks = text.split(/\bdefineCommand\(/).slice(1);
    for (const block of blocks) {
      const name = /name:\s*"([^"]+)"/.exec(block)?.[1];
      if (!name) continue;
      found.push({
        file: path.relative(root, file),
        name,
        skipsAudit: /\baudit:\s*[^,}\n]*\bfalse\b/.test(block),
      });
    }
  }

  return found;
}

let inSources: SourceCommand[];
beforeAll(async () => {
  inSources = await commandsInSources();
  // Importing each module that defines commands registers them (defineCommand keeps a list).
  for (const file of new Set(inSources.map((command) => command.file))) {
    await import(path.join(root, file));
  }
});

describe("audit entries for every command", () => {
  it("finds every command the modules define, each name once", () => {
    const names = inSources.map((command) => command.name);

    expect(new Set(names).size).toBe(names.length);
    expect(commandsDefined().sort()).toEqual([...names].sort());
    // A sanity floor: the walk did find the commands (34 when this test was written).
    expect(names.length).toBeGreaterThanOrEqual(30);
  });

  it("lets only the listed commands, each with its reason, skip the audit entry", () => {
    const skipping = inSources.filter((command) => command.skipsAudit);
    const unlisted = skipping
      .filter((command) => !Object.hasOwn(auditExemptions, command.name))
      .map((command) => `${command.name} (${command.file})`);

    expect(unlisted, "add them to server/audit/exemptions.ts with a reason, or audit them").toEqual(
      [],
    );
    for (const [name, reason] of Object.entries(auditExemptions)) {
      expect(reason.length, `${name}'s reason`).toBeGreaterThan(40);
    }
  });

  it("lists no command that no longer skips its entry or no longer exists", () => {
    const skipping = new Set(
      inSources.filter((command) => command.skipsAudit).map((command) => command.name),
    );

    expect(Object.keys(auditExemptions).filter((name) => !skipping.has(name))).toEqual([]);
  });
});
