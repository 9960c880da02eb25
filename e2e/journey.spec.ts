import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

import { expect, test, type Page, type TestInfo } from "@playwright/test";

import { snap } from "./support";

/** A fresh identity per test, so no test depends on the seed or on another test's data. */
function uniqueId(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
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
  // The text part has the link twice: the button's and the "Or open" line's.
  await message
    .getByRole("link", { name: /\/sign-up\/confirm\?token=/ })
    .first()
    .click();

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

  const lowBalanceStep = "crossing the low-balance threshold raises one notice under the bell";
  await test.step(lowBalanceStep, async () => {
    const balance = credits(await page.getByTestId("balance").textContent());
    // summarize costs 1 + 1 per started KiB: leave 50 credits, below the Free tier's 100.
    await page.getByLabel("Input size (bytes)").fill(String((balance - 50 - 1) * 1024));
    await page.getByRole("button", { name: "Run feature" }).click();
    await expect(page.getByTestId("balance")).toHaveText(/^50\s*credits$/);
    await expect(page.getByText("Low balance", { exact: true })).toBeVisible();

    // Unread: the welcome notice from the workspace's creation, and this one.
    await expect(page.getByTestId("unread-count")).toHaveText("2");
    await page.getByRole("button", { name: /^Notifications/ }).click();
    const panel = page.getByRole("dialog", { name: "Notifications" });
    const lowBalance = panel.getByRole("listitem").filter({ hasText: "Credits are running low" });
    await expect(lowBalance).toHaveCount(1);
    await snap(page, testInfo, "low-balance-notice");

    // A second consumption below the threshold raises no second notice.
    await page.getByRole("button", { name: /^Notifications/ }).click();
    await page.getByLabel("Input size (bytes)").fill("0");
    await page.getByRole("button", { name: "Run feature" }).click();
    await expect(page.getByTestId("balance")).toHaveText(/^49\s*credits$/);
    await page.reload();
    await expect(page.getByTestId("unread-count")).toHaveText("2");
    await page.getByRole("button", { name: /^Notifications/ }).click();
    await expect(lowBalance).toHaveCount(1);
  });

  await test.step("the low-balance email is in the dev mailbox", async () => {
    await page.goto(`/dev/mailbox?to=${encodeURIComponent(email)}`);
    const notice = page
      .getByTestId("email")
      .filter({ hasText: `${workspaceName} is running low on credits` });
    await expect(notice).toHaveCount(1);
    await notice.locator("summary").click();
    await expect(notice).toContainText("below the 100 credits threshold");
    await snap(page, testInfo, "mailbox-low-balance");
  });

  await test.step("marking it read clears the count; See all opens the history", async () => {
    await page.goto(`/w/${slug}`);
    await expect(page.getByTestId("unread-count")).toHaveText("2");
    await page.getByRole("button", { name: /^Notifications/ }).click();
    const panel = page.getByRole("dialog", { name: "Notifications" });
    const lowBalance = panel.getByRole("listitem").filter({ hasText: "Credits are running low" });
    await lowBalance.getByRole("button", { name: "Mark as read" }).click();
    await expect(page.getByTestId("unread-count")).toHaveText("1");
    await expect(lowBalance.getByRole("button", { name: "Mark as read" })).toHaveCount(0);
    await panel.getByRole("button", { name: "Mark all read" }).click();
    await expect(page.getByTestId("unread-count")).toHaveCount(0);
    await expect(panel.getByRole("button", { name: "Mark as read" })).toHaveCount(0);

    await panel.getByRole("link", { name: "See all" }).click();
    await expect(page).toHaveURL(new RegExp(`/w/${slug}/notifications$`));
    const rows = page.getByTestId("history-row").filter({ hasText: "Credits are running low" });
    // One in-app and one email delivery to the owner.
    await expect(rows).toHaveCount(2);
    await snap(page, testInfo, "notification-history");
  });
});

/**
 * Checks a Tally-Signature header the way a receiver should: the HMAC-SHA256
 * of "<t>.<raw body>" with the endpoint's secret, compared in constant time,
 * with a timestamp close to now.
 */
function signatureValid(secret: string, body: string, header: string | undefined): boolean {
  const parts = new Map(
    (header ?? "").split(",").map((part) => part.split("=", 2) as [string, string]),
  );
  const timestamp = Number(parts.get("t"));
  const given = Buffer.from(parts.get("v1") ?? "", "utf8");
  if (!secret || !Number.isInteger(timestamp)) return false;
  if (Math.abs(Date.now() / 1000 - timestamp) > 300) return false;
  const expected = Buffer.from(
    createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex"),
    "utf8",
  );

  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A webhook receiver on 127.0.0.1 that answers 200 only to correctly signed requests. */
async function startReceiver(secret: () => string) {
  const received: { verified: boolean; body: string }[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const header = request.headers["tally-signature"];
      const verified = signatureValid(secret(), body, Array.isArray(header) ? header[0] : header);
      received.push({ verified, body });
      response.writeHead(verified ? 200 : 401, { "content-type": "application/json" });
      response.end(JSON.stringify({ verified }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/tally-webhooks`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test("a webhook endpoint receives a signed test event", async ({ page }, testInfo) => {
  let secret = "";
  const receiver = await startReceiver(() => secret);

  try {
    // Webhooks are a tier feature: Free (the tier users sign up on) lacks it, so this journey
    // uses the demo customer's Pro workspace, and removes its endpoint at the end.
    await test.step("sign in as the demo customer", async () => {
      await page.goto("/sign-in");
      await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeEnabled();
      await page.getByLabel("Email", { exact: true }).fill("customer@example.com");
      await page.getByLabel("Password").fill("tally-demo");
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await expect(page).not.toHaveURL(/\/sign-in/);
      await page.goto("/w/demo");
    });

    const endpoint = await test.step("add an endpoint for all events", async () => {
      const nav = page.getByRole("navigation", { name: "Main" });
      await nav.getByRole("link", { name: "Webhooks" }).click();
      await expect(page).toHaveURL(/\/w\/demo\/webhooks$/);
      await expect(page.getByRole("heading", { name: "How to verify" })).toBeVisible();
      const add = page.getByRole("button", { name: "Add endpoint", exact: true });
      await expect(add).toBeEnabled();
      await page.getByLabel("Endpoint URL").fill(receiver.url);
      await page.getByLabel("Description (optional)").fill("The journey's receiver");
      await expect(page.getByLabel("All events")).toBeChecked();
      await snap(page, testInfo, "webhooks-new-endpoint");
      await add.click();

      const card = page.getByTestId("webhook-endpoint").filter({ hasText: receiver.url });
      await expect(card).toHaveCount(1);
      await expect(card).toContainText("All events");
      await expect(card).toContainText("Enabled");

      return card;
    });

    await test.step("reveal the signing secret", async () => {
      await endpoint.getByRole("button", { name: "Reveal secret" }).click();
      const shown = endpoint.getByTestId("endpoint-secret");
      await expect(shown).toHaveText(/^whsec_\S+$/);
      secret = (await shown.textContent()) ?? "";
    });

    await test.step("send a test event and see it delivered with HTTP 200", async () => {
      await endpoint.getByRole("button", { name: "Send test event", exact: true }).click();
      const delivery = endpoint.getByTestId("webhook-delivery").first();
      await expect(delivery).toContainText("Test event");
      await expect(delivery).toContainText("Delivered");
      await delivery.getByRole("button", { name: /^Show attempts/ }).click();
      const attempt = endpoint.getByTestId("webhook-attempt").first();
      await expect(attempt.getByTestId("response-status")).toHaveText("HTTP 200");
      await expect(attempt).toContainText('"type": "webhooks.test"');
      await snap(page, testInfo, "webhooks-delivered");

      expect(receiver.received).toHaveLength(1);
      expect(receiver.received[0]?.verified).toBe(true);
      expect(JSON.parse(receiver.received[0]?.body ?? "{}")).toMatchObject({
        type: "webhooks.test",
        data: { message: "This is a test event from Tally." },
      });
    });

    await test.step("delete the endpoint", async () => {
      page.once("dialog", (dialog) => void dialog.accept());
      await endpoint.getByRole("button", { name: "Delete", exact: true }).click();
      await expect(endpoint).toHaveCount(0);
    });
  } finally {
    await receiver.close();
  }
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
  await message
    .getByRole("link", { name: /\/api\/auth\/callback\/email/ })
    .first()
    .click();

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
