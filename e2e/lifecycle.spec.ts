import { randomBytes } from "node:crypto";

import { expect, test } from "@playwright/test";

import { customer, snap } from "./support";

/**
 * The demo customer creates a Free workspace, upgrades it to Pro through the
 * plans page's preview (the prorated amount, the credits), sees the new tier
 * and balance, schedules a downgrade and drops it, then cancels at the
 * period's end and keeps the workspace after all.
 */

function uniqueId(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
}

test("upgrade with the preview, see the new tier and balance; schedule a downgrade; cancel and keep", async ({
  page,
}, testInfo) => {
  await page.goto("/sign-in");
  await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeEnabled();
  await page.getByLabel("Email", { exact: true }).fill(customer.email);
  await page.getByLabel("Password").fill(customer.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).not.toHaveURL(/\/sign-in/);

  const slug = await test.step("create a Free workspace", async () => {
    await page.goto("/workspaces/new");
    await expect(page.getByRole("button", { name: "Create workspace" })).toBeEnabled();
    await page.getByLabel("Workspace name").fill(`Plans ${uniqueId()}`);
    await page.getByRole("button", { name: "Create workspace" }).click();
    await expect(page).toHaveURL(/\/w\/plans-[a-z0-9-]+$/);
    await expect(page.getByTestId("balance")).toContainText("1,250");

    return new URL(page.url()).pathname.split("/").pop()!;
  });

  await test.step("preview the upgrade to Pro: the prorated charge and the credits", async () => {
    await page.getByRole("link", { name: "Plans" }).click();
    await expect(page).toHaveURL(`/w/${slug}/plans`);
    await expect(page.getByTestId("tier-free")).toContainText("Current");
    await snap(page, testInfo, "plans");

    await page.getByTestId("choose-pro").click();
    const preview = page.getByTestId("change-preview");
    await expect(preview).toBeVisible();
    // Created seconds ago: almost the whole period of Pro's $49.00 is left.
    await expect(page.getByTestId("preview-net")).toHaveText(/^\$4[89]\.\d\d$/);
    await expect(page.getByTestId("preview-credits")).toContainText(/^\+2[34],\d{3} now/);
    await snap(page, testInfo, "upgrade-preview");
    await page.getByTestId("confirm-change").click();
  });

  await test.step("see the new tier, the upgrade's invoice and the balance", async () => {
    await expect(page.getByTestId("plan-change-result")).toContainText("is now on the Pro tier");
    await expect(page.getByTestId("tier-pro")).toContainText("Current");
    await expect(page.getByText("Pro tier", { exact: true })).toBeVisible();
    await snap(page, testInfo, "upgraded");

    // An upgrade's prorated net is invoiced at once, through a reaction.
    await page.goto(`/w/${slug}/billing`);
    const invoice = page
      .getByRole("table", { name: "Invoices" })
      .getByRole("row")
      .filter({ hasText: /INV-\d{4}-\d{6}/ });
    await expect(async () => {
      await page.reload();
      await expect(invoice).toHaveCount(1, { timeout: 3_000 });
    }).toPass({ timeout: 30_000 });
    await expect(invoice).toContainText(/\$4[89]\.\d\d/);
    await expect(invoice).toContainText("Open");
    await snap(page, testInfo, "upgrade-invoice");

    // The upgrade's credits arrive through a reaction: 1,250 + about 24,000.
    await page.goto(`/w/${slug}`);
    await expect
      .poll(
        async () => {
          await page.reload();
          return (await page.getByTestId("balance").textContent()) ?? "";
        },
        { timeout: 20_000 },
      )
      .toMatch(/2[45],\d{3}/);
  });

  await test.step("schedule a downgrade, see its banner, keep the tier", async () => {
    await page.goto(`/w/${slug}/plans`);
    await page.getByTestId("choose-free").click();
    await expect(page.getByLabel(/At the period's end/)).toBeChecked();
    await page.getByTestId("confirm-change").click();
    await expect(page.getByTestId("plan-change-result")).toContainText("moves to the Free tier");
    await expect(page.getByTestId("scheduled-downgrade-banner")).toContainText("Free tier");
    await snap(page, testInfo, "downgrade-scheduled");
    await page.getByRole("button", { name: "Keep the Pro tier" }).click();
    await expect(page.getByTestId("scheduled-downgrade-banner")).toHaveCount(0);
  });

  await test.step("cancel at the period's end, see the banner, keep the workspace", async () => {
    await page.getByRole("link", { name: "Workspace settings" }).click();
    await expect(page).toHaveURL(`/w/${slug}/settings`);
    await page.getByRole("button", { name: "Cancel at the period's end" }).click();
    await expect(page.getByTestId("cancelling-banner")).toContainText("works as usual until");
    await snap(page, testInfo, "cancelling");
    await page.getByRole("button", { name: "Keep the workspace" }).first().click();
    await expect(page.getByTestId("cancelling-banner")).toHaveCount(0);
    await expect(page.getByRole("button", { name: "Cancel at the period's end" })).toBeVisible();
  });
});

test("cancel now, then delete with the address typed: a wrong one is refused beside the field", async ({
  page,
}, testInfo) => {
  await page.goto("/sign-in");
  await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeEnabled();
  await page.getByLabel("Email", { exact: true }).fill(customer.email);
  await page.getByLabel("Password").fill(customer.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).not.toHaveURL(/\/sign-in/);

  await page.goto("/workspaces/new");
  await expect(page.getByRole("button", { name: "Create workspace" })).toBeEnabled();
  await page.getByLabel("Workspace name").fill(`Leaving ${uniqueId()}`);
  await page.getByRole("button", { name: "Create workspace" }).click();
  await expect(page).toHaveURL(/\/w\/leaving-[a-z0-9-]+$/);
  const slug = new URL(page.url()).pathname.split("/").pop()!;

  await page.getByRole("link", { name: "Workspace settings" }).click();
  page.once("dialog", (dialog) => void dialog.accept());
  await page.getByTestId("cancel-now").click();
  await expect(page.getByTestId("workspace-status-banner")).toContainText("read-only");

  await page.getByLabel(/to confirm/).fill(`${slug}-typo`);
  await page.getByRole("button", { name: /^Delete / }).click();
  await expect(page.locator("#confirm-slug-error")).toContainText(`Type the address "${slug}"`);
  await snap(page, testInfo, "delete-refused");

  await page.getByLabel(/to confirm/).fill(slug);
  await page.getByRole("button", { name: /^Delete / }).click();
  await expect(page).not.toHaveURL(new RegExp(slug));
  await page.goto(`/w/${slug}`);
  await expect(page.getByText("Workspace not found")).toBeVisible();
});
