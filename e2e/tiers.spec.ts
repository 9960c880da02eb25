import { randomBytes } from "node:crypto";

import { expect, test } from "@playwright/test";

import { admin, customer, signIn, snap } from "./support";

/**
 * The tier editor as the demo platform admin uses it (README:
 * admin@example.com). Publishing a version changes only what new workspaces
 * get, so the other journeys, on workspaces that exist already, are untouched.
 */

test("an admin publishes a new version of Pro, fixing a field the server refused", async ({
  page,
}, testInfo) => {
  await signIn(page, admin);

  const pro = page.locator('[data-testid="tier-row"][data-code="pro"]');
  const versions = await test.step("open the tiers page from the admin tabs", async () => {
    await page.goto("/admin");
    await page
      .getByRole("navigation", { name: "Admin" })
      .getByRole("link", { name: "Tiers" })
      .click();
    await expect(page).toHaveURL(/\/admin\/tiers$/);
    await expect(pro).toContainText("Pro");
    await snap(page, testInfo, "tiers-list");

    return Number(await pro.getByTestId("tier-version-count").textContent());
  });
  expect(versions).toBeGreaterThanOrEqual(1);

  const form = page.getByRole("form", { name: "New version of pro" });
  await test.step("open the editor prefilled from the latest version", async () => {
    await pro.getByRole("button", { name: "New version" }).click();
    await expect(form.getByLabel("Name", { exact: true })).toHaveValue("Pro");
    await expect(form.getByLabel("Credits per month")).toHaveValue("25000");
    await expect(form.getByTestId("priceTable-row")).toHaveCount(3);
    await expect(form.getByLabel("Webhook endpoints")).toBeChecked();
  });

  await test.step("a refused field shows its error beside it", async () => {
    await form.getByLabel("Credits per month").fill("-5");
    await form.getByRole("button", { name: `Publish v${versions + 1}` }).click();
    const field = form.getByLabel("Credits per month");
    await expect(field).toHaveAttribute("aria-invalid", "true");
    await expect(field).toHaveAccessibleDescription(
      "Enter the monthly credits as a whole number of at least 0",
    );
    await snap(page, testInfo, "tier-editor-field-error");
  });

  await test.step("fix it and publish", async () => {
    await form.getByLabel("Credits per month").fill("30000");
    await form.getByRole("button", { name: `Publish v${versions + 1}` }).click();
    await expect(
      page.getByText(`Version ${versions + 1} of pro published: new workspaces get it.`),
    ).toBeVisible();
    await expect(pro.getByTestId("tier-version-count")).toHaveText(String(versions + 1));
    await pro.getByRole("button", { name: "Versions" }).click();
    const newest = page.getByTestId("tier-version").first();
    await expect(newest).toContainText(`v${versions + 1}`);
    await expect(newest).toContainText("Offered");
    await expect(newest).toContainText("30,000 credits");
    await snap(page, testInfo, "tier-published");
  });
});

test("a Free workspace's owner sees that webhooks are not part of their tier", async ({
  page,
}, testInfo) => {
  await signIn(page, customer);
  const slug = `free-${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;

  await test.step("create a workspace on Free", async () => {
    await page.goto("/workspaces/new");
    await expect(page.getByRole("button", { name: "Create workspace" })).toBeEnabled();
    await page.getByLabel("Workspace name").fill(`Free ${slug}`);
    await page.getByLabel("Address").fill(slug);
    await expect(page.getByRole("radio", { name: /Free/ })).toBeChecked();
    await page.getByRole("button", { name: "Create workspace" }).click();
    await expect(page).toHaveURL(new RegExp(`/w/${slug}$`));
  });

  await test.step("adding an endpoint is disabled, with the reason beside it", async () => {
    await page.goto(`/w/${slug}/webhooks`);
    const add = page.getByRole("button", { name: "Add endpoint", exact: true });
    await expect(add).toBeDisabled();
    await expect(add).toHaveAccessibleDescription(
      "Webhook endpoints are not part of the Free tier.",
    );
    await snap(page, testInfo, "webhooks-not-in-tier");
  });
});
