import { expect, type Browser, type Page, type TestInfo } from "@playwright/test";

/** The README's demo accounts, which the journeys' server seeds. */
export const customer = { email: "customer@example.com", password: "tally-demo" };
export const admin = { email: "admin@example.com", password: "tally-admin" };

/** A full-page screenshot attached to the test's report, numbered in the order taken. */
export async function snap(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const file = testInfo.outputPath(
    `${String(testInfo.attachments.length + 1).padStart(2, "0")}-${name}.png`,
  );
  await page.screenshot({ path: file, fullPage: true });
  await testInfo.attach(name, { path: file, contentType: "image/png" });
}

/** Signs in through the sign-in page, as a person does. */
export async function signIn(
  page: Page,
  account: { email: string; password: string },
): Promise<void> {
  await page.goto("/sign-in");
  await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeEnabled();
  await page.getByLabel("Email", { exact: true }).fill(account.email);
  await page.getByLabel("Password").fill(account.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).not.toHaveURL(/\/sign-in/);
}

/** A page in a browser context of its own, signed in: two people side by side. */
export async function signedIn(
  browser: Browser,
  account: { email: string; password: string },
): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await signIn(page, account);

  return page;
}
