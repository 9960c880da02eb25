// Prints "N passed, N failed" from the vitest junit files and the Playwright
// JSON report in a folder, and exits 1 if anything failed. Arguments after the
// folder name the reports of steps that exited non-zero ("-" for a step with
// no report, such as the build); a failed step whose report shows no failed
// test (a crash, a timeout, a build error) counts as one failure itself.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const [folder, ...failedSteps] = process.argv.slice(2);

function count(file) {
  const text = readFileSync(path.join(folder, file), "utf8");
  if (file.endsWith(".xml")) {
    let passed = 0;
    let failed = 0;
    for (const testcase of text.match(/<testcase\b[^>]*?(\/>|>[\s\S]*?<\/testcase>)/g) ?? []) {
      if (/<(failure|error)\b/.test(testcase)) failed += 1;
      else if (!/<skipped\b/.test(testcase)) passed += 1;
    }
    return { passed, failed };
  }
  const stats = JSON.parse(text).stats ?? {};
  return { passed: (stats.expected ?? 0) + (stats.flaky ?? 0), failed: stats.unexpected ?? 0 };
}

const totals = { passed: 0, failed: 0 };
const byFile = new Map();
for (const file of existsSync(folder) ? readdirSync(folder) : []) {
  if (!file.endsWith(".xml") && !file.endsWith(".json")) continue;
  const result = count(file);
  byFile.set(file, result);
  totals.passed += result.passed;
  totals.failed += result.failed;
}
for (const report of failedSteps) {
  if ((byFile.get(report)?.failed ?? 0) === 0) totals.failed += 1;
}

console.log(`${totals.passed} passed, ${totals.failed} failed`);
process.exit(totals.failed > 0 ? 1 : 0);
