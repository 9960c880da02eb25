import { randomBytes, randomUUID } from "node:crypto";

import { expect, test, type APIRequestContext } from "@playwright/test";

import { admin, customer, signedIn, snap } from "./support";

/**
 * A platform admin suspends a workspace and reactivates it; its owner sees
 * the banner and the disabled actions in between, and its API key is refused.
 * The workspace is a fresh one of the demo customer (README), so the other
 * journeys' workspaces are never suspended.
 */

function uniqueId(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
}

/** One feature call on the metering API with the workspace's key: its status and error code. */
async function consumeWith(request: APIRequestContext, key: string) {
  const response = await request.post("/api/v1/usage", {
    headers: { authorization: `Bearer ${key}`, "idempotency-key": randomUUID() },
    data: { feature: "summarize", inputBytes: 1024 },
  });
  const body = (await response.json()) as { error?: { code: string } };

  return { status: response.status(), code: body.error?.code };
}

test("an admin suspends a workspace: the owner sees why, its API key is refused; then reactivates it", async ({
  browser,
  request,
}, testInfo) => {
  const name = `Suspended ${uniqueId()}`;
  const owner = await signedIn(browser, customer);

  const { slug, key } =
    await test.step("the owner creates a workspace and an API key", async () => {
      await owner.goto("/workspaces/new");
      await expect(owner.getByRole("button", { name: "Create workspace" })).toBeEnabled();
      await owner.getByLabel("Workspace name").fill(name);
      await owner.getByRole("button", { name: "Create workspace" }).click();
      await expect(owner).toHaveURL(/\/w\/suspended-[a-z0-9-]+$/);
      await expect(owner.getByTestId("balance")).toContainText("1,250");
      const slug = new URL(owner.url()).pathname.split("/").pop()!;

      await owner.goto(`/w/${slug}/api-keys`);
      await owner.getByLabel("Key name").fill("backend");
      await owner.getByRole("button", { name: "Create key" }).click();
      const key = (await owner.getByTestId("new-api-key").textContent())?.trim() ?? "";
      expect(key).toMatch(/^tally_sk_/);
      expect(await consumeWith(request, key)).toEqual({ status: 200, code: undefined });

      return { slug, key };
    });

  const adminPage = await signedIn(browser, admin);
  const statusCard = adminPage.locator("section", {
    has: adminPage.getByRole("heading", { name: new RegExp(`^${name}: `) }),
  });

  await test.step("the admin finds it and suspends it, the reason checked beside its field", async () => {
    await adminPage.goto("/admin");
    await adminPage
      .getByRole("navigation", { name: "Admin" })
      .getByRole("link", { name: "Workspaces" })
      .click();
    await expect(adminPage).toHaveURL(/\/admin\/workspaces$/);
    // The list searches as you type; a row opens the workspace's page, where the actions are.
    await adminPage.getByLabel("Search").fill(slug);
    await expect(adminPage).toHaveURL(new RegExp(`\\?q=${slug}$`));
    const row = adminPage.getByRole("row", { name: new RegExp(name) });
    await expect(row).toContainText("Active");
    await row.getByRole("link", { name }).click();
    await expect(adminPage).toHaveURL(/\/admin\/workspaces\/[0-9a-f-]{36}$/);

    await statusCard.getByLabel("Reason").fill("ab");
    await statusCard.getByRole("button", { name: "Suspend workspace" }).click();
    await expect(statusCard.getByText("Say why, in at least 3 characters")).toBeVisible();
    await expect(statusCard.getByLabel("Reason")).toHaveAttribute("aria-invalid", "true");

    await statusCard.getByLabel("Reason").fill("Invoice INV-0042 unpaid for 30 days");
    await statusCard.getByRole("button", { name: "Suspend workspace" }).click();
    await expect(adminPage.getByTestId("workspace-status-result")).toContainText("is suspended");
    await expect(adminPage.getByTestId("workspace-status")).toHaveText("Suspended");
    await expect(statusCard.getByRole("button", { name: "Reactivate workspace" })).toBeVisible();
    await snap(adminPage, testInfo, "admin-suspended");
  });

  await test.step("the metering API refuses its key at once", async () => {
    expect(await consumeWith(request, key)).toEqual({ status: 403, code: "workspace_suspended" });
    const balance = await request.get("/api/v1/balance", {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(balance.status()).toBe(403);
  });

  await test.step("the owner sees the banner and actions disabled with the reason", async () => {
    await owner.goto(`/w/${slug}`);
    const banner = owner.getByTestId("workspace-status-banner");
    await expect(owner.getByText("This workspace is suspended")).toBeVisible();
    await expect(banner).toContainText("Invoice INV-0042 unpaid for 30 days");
    await expect(banner).toContainText(
      "pay the open invoice on the billing page or contact support",
    );
    await expect(banner.getByRole("link", { name: "billing page" })).toHaveAttribute(
      "href",
      `/w/${slug}/billing`,
    );
    await expect(owner.getByRole("button", { name: "Run feature" })).toBeDisabled();
    await expect(
      owner.getByText("Running features is unavailable while the workspace is suspended"),
    ).toBeVisible();
    await snap(owner, testInfo, "owner-banner-dashboard");

    await owner.goto(`/w/${slug}/api-keys`);
    await expect(banner).toBeVisible();
    await expect(owner.getByRole("button", { name: "Create key" })).toBeDisabled();
    // Revoking takes access away, so it stays possible.
    await expect(owner.getByRole("button", { name: "Revoke" })).toBeEnabled();

    await owner.goto(`/w/${slug}/credits`);
    await expect(banner).toBeVisible();
    await expect(owner.getByRole("button", { name: /^Buy Starter/ })).toBeEnabled();
    await snap(owner, testInfo, "owner-banner-credits");
  });

  await test.step("the admin reactivates it: the banner goes and the key works again", async () => {
    await statusCard.getByRole("button", { name: "Reactivate workspace" }).click();
    await expect(adminPage.getByTestId("workspace-status-result")).toContainText("active again");
    await expect(adminPage.getByTestId("workspace-status")).toHaveText("Active");

    expect(await consumeWith(request, key)).toEqual({ status: 200, code: undefined });
    await owner.goto(`/w/${slug}`);
    await expect(owner.getByRole("button", { name: "Run feature" })).toBeEnabled();
    await expect(owner.getByTestId("workspace-status-banner")).toHaveCount(0);
  });

  await owner.context().close();
  await adminPage.context().close();
});
