import { randomBytes } from "node:crypto";

import { expect, test, type Page, type TestInfo } from "@playwright/test";

/** A fresh identity per test, so no test depends on the seed or on another test's data. */
function uniqueId(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
}

/** A full-page screenshot kept as an artefact of the run and attached to the report. */
async function snap(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const file = testInfo.outputPath(
    `${String(testInfo.attachments.length + 1).padStart(2, "0")}-${name}.png`,
  );
  await page.screenshot({ path: file, fullPage: true });
  await testInfo.attach(name, { path: file, contentType: "image/png" });
}

/**
 * Signs up through the form, confirms the address from the dev mailbox and
 * signs in with the password: the whole path a new user takes.
 */
async function signUpAndConfirm(
  page: Page,
  testInfo: TestInfo,
  account: { name: string; email: string; password: string },
): Promise<void> {
  await page.goto("/sign-up");
  await expect(page.getByRole("heading", { name: "Create your Tally account" })).toBeVisible();
  await snap(page, testInfo, "sign-up");
  await page.getByLabel("Name").fill(account.name);
  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel("Password").fill(account.password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/sign-in\/check-email\?kind=sign-up/);
  await expect(page.getByText("We sent a confirmation link")).toBeVisible();
  await snap(page, testInfo, "check-email-sign-up");

  await page.getByRole("link", { name: "dev mailbox" }).click();
  const message = page.getByTestId("email").filter({ hasText: "Confirm your email" });
  await expect(message).toHaveCount(1);
  await message.locator("summary").click();
  await snap(page, testInfo, "mailbox-confirmation");
  await message.getByRole("link", { name: /\/sign-up\/confirm\?token=/ }).click();

  await expect(page.getByRole("heading", { name: "Confirm your email" })).toBeVisible();
  await page.getByLabel("Password").fill(account.password);
  await page.getByRole("button", { name: "Confirm my email" }).click();
  await expect(page).toHaveURL(/\/sign-in\?confirmed=1/);
  await expect(page.getByText("Your email is confirmed")).toBeVisible();
  await expect(page.getByLabel("Email", { exact: true })).toHaveValue(account.email);
  await page.getByLabel("Password").fill(account.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  // A new account has no workspace yet: creating one is the next step.
  await expect(page).toHaveURL(/\/workspaces\/new$/);
}

function credits(text: string | null): number {
  return Number((text ?? "").replace(/[^0-9-]/g, ""));
}

test("sign up, create a workspace, see the credits and the welcome email, consume", async ({
  page,
}, testInfo) => {
  const id = uniqueId();
  const email = `journey-${id}@example.com`;
  const workspaceName = `Journey ${id}`;

  await test.step("sign up, confirm the email, sign in", async () => {
    await signUpAndConfirm(page, testInfo, {
      name: "Journey Tester",
      email,
      password: "correct horse battery",
    });
  });

  const slug = await test.step("create a workspace on the free tier", async () => {
    await expect(page.getByRole("heading", { name: "Create a workspace" })).toBeVisible();
    // Controlled fields: type once the page is interactive (submit buttons wait for hydration).
    await expect(page.getByRole("button", { name: "Create workspace" })).toBeEnabled();
    await page.getByLabel("Workspace name").fill(workspaceName);
    const slugField = page.getByLabel("Address");
    await expect(slugField).toHaveValue(`journey-${id}`);
    await expect(page.getByRole("radio", { name: /Free/ })).toBeChecked();
    await snap(page, testInfo, "new-workspace");
    await page.getByRole("button", { name: "Create workspace" }).click();
    await expect(page).toHaveURL(new RegExp(`/w/journey-${id}$`));

    return `journey-${id}`;
  });

  await test.step("the initial 1,250 credits arrive", async () => {
    await expect(page.getByRole("heading", { name: workspaceName })).toBeVisible();
    await expect(page.getByTestId("balance")).toContainText("1,250");
    await expect(page.getByTestId("grant").filter({ hasText: "Tier allocation" })).toContainText(
      "1,000",
    );
    await expect(page.getByTestId("grant").filter({ hasText: "Signup bonus" })).toContainText(
      "250",
    );
    await expect(page.getByTestId("ledger-row")).toHaveCount(2);
    await expect(page.getByTestId("gateway-customer")).toHaveText(/^cus_sim[0-9A-Za-z]{24}$/);
    await snap(page, testInfo, "dashboard-initial");
  });

  await test.step("the welcome email is in the dev mailbox", async () => {
    await page.goto("/dev/mailbox");
    await page.getByLabel("Recipient").fill(email);
    await page.getByRole("button", { name: "Filter" }).click();
    await expect(page).toHaveURL(/\/dev\/mailbox\?to=/);
    const welcome = page
      .getByTestId("email")
      .filter({ hasText: `Welcome to Tally, ${workspaceName} is ready` });
    await expect(welcome).toHaveCount(1);
    await welcome.locator("summary").click();
    await expect(welcome).toContainText("It starts with 1,250 credits");
    await expect(welcome.locator("iframe")).toBeVisible();
    await snap(page, testInfo, "mailbox-welcome");
  });

  await test.step("consume from the Try a feature form", async () => {
    await page.goto(`/w/${slug}`);
    await expect(page.getByTestId("balance")).toContainText("1,250");
    await expect(page.getByRole("button", { name: "Run feature" })).toBeEnabled();
    await page.getByLabel("Feature").selectOption("summarize");
    await page.getByLabel("Input size (bytes)").fill("4096");
    await page.getByRole("button", { name: "Run feature" }).click();
    const charged = credits(await page.getByTestId("charged-credits").textContent());
    expect(charged).toBeGreaterThan(0);
    const expected = (1250 - charged).toLocaleString("en-US");
    await expect(page.getByTestId("balance")).toContainText(expected);
    const row = page.getByTestId("ledger-row").first();
    await expect(row).toContainText("Feature summarize");
    await expect(row).toContainText(`\u2212${charged}`);
    await expect(row).toContainText(expected);
    await expect(page.getByTestId("usage-row").first()).toContainText("summarize");
    await snap(page, testInfo, "dashboard-after-consume");
  });

  await test.step("crossing the low-balance threshold raises one notice under the bell", async () => {
    const balance = credits(await page.getByTestId("balance").textContent());
    // summarize costs 1 + 1 per started KiB: leave 50 credits, below the Free tier's 100.
    await page.getByLabel("Input size (bytes)").fill(String((balance - 50 - 1) * 1024));
    await page.getByRole("button", { name: "Run feature" }).click();
    await expect(page.getByTestId("balance")).toHaveText(/^50\s*credits$/);
    await expect(page.getByText("Low balance", { exact: true })).toBeVisible();

    await expect(page.getByTestId("unread-count")).toHaveText("1");
    await page.getByRole("button", { name: /^Notifications/ }).click();
    const panel = page.getByRole("dialog", { name: "Notifications" });
    await expect(panel).toContainText("Credits are running low");
    await snap(page, testInfo, "low-balance-notice");

    // A second consumption below the threshold raises no second notice.
    await page.getByRole("button", { name: /^Notifications/ }).click();
    await page.getByLabel("Input size (bytes)").fill("0");
    await page.getByRole("button", { name: "Run feature" }).click();
    await expect(page.getByTestId("balance")).toHaveText(/^49\s*credits$/);
    await page.reload();
    await expect(page.getByTestId("unread-count")).toHaveText("1");
  });
});

test("sign in with a magic link from the dev mailbox", async ({ page }, testInfo) => {
  const email = `magic-${uniqueId()}@example.com`;

  await page.goto("/sign-in");
  await expect(page.getByRole("heading", { name: "Sign in to Tally" })).toBeVisible();
  await snap(page, testInfo, "sign-in");
  await page.getByLabel("Email for the link").fill(email);
  await page.getByRole("button", { name: "Send link" }).click();
  await expect(page).toHaveURL(/\/sign-in\/check-email/);
  await expect(page.getByRole("heading", { name: "Check your inbox" })).toBeVisible();
  await snap(page, testInfo, "check-email");

  await page.getByRole("link", { name: "dev mailbox" }).click();
  const message = page.getByTestId("email").filter({ hasText: "Sign in to Tally" });
  await expect(message).toHaveCount(1);
  await message.locator("summary").click();
  await snap(page, testInfo, "mailbox-magic-link");
  await message.getByRole("link", { name: /\/api\/auth\/callback\/email/ }).click();

  // A new account has no workspace: it lands, signed in, on the first step.
  await expect(page).toHaveURL(/\/workspaces\/new$/);
  await expect(page.getByRole("banner")).toContainText(email);
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
  await snap(page, testInfo, "signed-in-by-magic-link");
});

test("forms show the server's errors where they belong", async ({ page }, testInfo) => {
  const email = `errors-${uniqueId()}@example.com`;
  const password = "long enough password";

  await page.goto("/sign-up");
  await page.getByLabel("Name").fill("Error Tester");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator("#sign-up-password-error")).toHaveText("Use at least 8 characters");

  await signUpAndConfirm(page, testInfo, { name: "Error Tester", email, password });
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in/);

  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Wrong" })).toHaveText(
    "Wrong email or password.",
  );
  await snap(page, testInfo, "sign-in-wrong-password");

  await page.goto("/sign-up");
  await page.getByLabel("Name").fill("Someone Else");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator("#sign-up-email-error")).toContainText(
    "An account with this email already exists",
  );
  await snap(page, testInfo, "sign-up-email-taken");
});
