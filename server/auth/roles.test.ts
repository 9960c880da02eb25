import { describe, expect, it } from "vitest";

import { canGrant, canManage, workspaceRoles } from "./roles";

describe("who may do what to whom in a workspace", () => {
  it("lets people give roles up to their own, never owner", () => {
    const grants = Object.fromEntries(
      workspaceRoles.map((actor) => [
        actor,
        workspaceRoles.filter((role) => canGrant(actor, role)),
      ]),
    );
    expect(grants).toEqual({
      owner: ["admin", "billing", "member", "viewer"],
      admin: ["admin", "billing", "member", "viewer"],
      billing: ["billing", "member", "viewer"],
      member: ["member", "viewer"],
      viewer: ["viewer"],
    });
  });

  it("lets people manage only those ranked below them, so only the owner manages admins", () => {
    const manages = Object.fromEntries(
      workspaceRoles.map((actor) => [
        actor,
        workspaceRoles.filter((target) => canManage(actor, target)),
      ]),
    );
    expect(manages).toEqual({
      owner: ["admin", "billing", "member", "viewer"],
      admin: ["billing", "member", "viewer"],
      billing: ["member", "viewer"],
      member: ["viewer"],
      viewer: [],
    });
  });
});
