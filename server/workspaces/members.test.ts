import { and, desc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  auditLog,
  emailMessages,
  seatChanges,
  workspaceInvites,
  workspaceMembers,
} from "@/drizzle/schema";
import { recordSeatCount } from "@/server/billing/seats";
import { ManualClock } from "@/server/clock";
import type { EventEnvelope } from "@/server/events/catalogue";
import type { ReactionDeps } from "@/server/events/reactions";
import type { Runtime } from "@/server/runtime";
import { eventsNamed, makeTier } from "@/test/support/tiers";
import {
  callerFor,
  drain,
  makeUser,
  makeWorkspace,
  testRuntime,
  uniqueSuffix,
} from "@/test/support/runtime";

import { INVITE_TTL_MS, seatsInUse } from "./members";

const clock = new ManualClock("2027-05-03T10:00:00.000Z");
let runtime: Runtime;
beforeAll(async () => {
  runtime = await testRuntime({ clock });
});
afterAll(async () => {
  await runtime.stop();
});

/** A refusal with this stable code (and message), as a caller sees it, for expect(...).rejects. */
function refusal(code: string, message?: RegExp, field?: string) {
  return expect.objectContaining({
    cause: expect.objectContaining({
      code,
      ...(message ? { message: expect.stringMatching(message) } : {}),
      ...(field ? { field } : {}),
    }),
  });
}

/** A workspace and its owner's caller, on a tier without a seat limit unless given one. */
async function owned(tierCode?: string) {
  const workspace = await makeWorkspace(runtime, {
    tierCode: tierCode ?? (await makeTier(runtime)).code,
  });

  return { ...workspace, owner: await callerFor(runtime, workspace.userId) };
}

/** Input the procedure's schema refuses before any command runs. */
function badInput(message: RegExp) {
  return expect.objectContaining({ code: "BAD_REQUEST", message: expect.stringMatching(message) });
}

async function join(workspaceId: string, role: "admin" | "billing" | "member" | "viewer") {
  const user = await makeUser(runtime);
  await runtime.db.insert(workspaceMembers).values({ workspaceId, userId: user.id, role });

  return { ...user, caller: await callerFor(runtime, user.id) };
}

/** The invitation email sent to an address, newest first, and the token in its link. */
async function invitationTo(email: string) {
  const [message] = await runtime.db
    .select()
    .from(emailMessages)
    .where(
      and(
        eq(emailMessages.toAddress, email),
        eq(emailMessages.type, "workspace.collaborator_invite"),
      ),
    )
    .orderBy(desc(emailMessages.createdAt))
    .limit(1);
  const token = message?.text.match(/\/invite\/([A-Za-z0-9_-]{43})/)?.[1];
  if (!message || !token) throw new Error(`no invitation email to ${email}`);

  return { message, token };
}

async function auditOf(workspaceId: string, command: string) {
  return runtime.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.workspaceId, workspaceId), eq(auditLog.command, command)));
}

describe("inviting and accepting", () => {
  it("emails a link that the invited address accepts, adding them with the role", async () => {
    const { workspaceId, slug, userId, owner } = await owned();
    const email = `guest-${uniqueSuffix()}@example.com`;

    const invited = await owner.workspaces.members.invite({
      workspaceId,
      email: `  ${email.toUpperCase()} `,
      role: "billing",
    });
    expect(invited).toMatchObject({
      email,
      expiresAt: new Date(clock.now().getTime() + INVITE_TTL_MS),
    });
    await drain(runtime);

    const { message, token } = await invitationTo(email);
    expect(message.subject).toMatch(/invited you to Workspace ws-/);
    expect(message.text).toContain("as billing");
    expect(message.text).toContain(`http://localhost:3000/invite/${token}`);
    expect(message.text).toMatch(/expires on May 10, 2027/);
    const [row] = await runtime.db
      .select()
      .from(workspaceInvites)
      .where(eq(workspaceInvites.id, invited.inviteId));
    expect(row?.tokenHash).toHaveLength(64);
    expect(row?.tokenHash).not.toContain(token);

    const pending = await owner.workspaces.members.invites({ workspaceId });
    expect(pending).toEqual([expect.objectContaining({ email, role: "billing", expired: false })]);
    const anonymous = await callerFor(runtime, null);
    expect(await anonymous.workspaces.members.preview({ token })).toMatchObject({
      state: "open",
      workspaceName: `Workspace ${slug}`,
      role: "billing",
      email,
    });

    const guest = await makeUser(runtime, { email: email.replace("guest", "GUEST") });
    const accepted = await (
      await callerFor(runtime, guest.id)
    ).workspaces.members.accept({ token });
    expect(accepted).toEqual({ workspaceId, slug, role: "billing" });

    const members = await owner.workspaces.members.list({ workspaceId });
    expect(members.map((member) => [member.userId, member.role])).toEqual([
      [userId, "owner"],
      [guest.id, "billing"],
    ]);
    expect(await owner.workspaces.members.invites({ workspaceId })).toEqual([]);
    expect(
      (await eventsNamed(runtime, workspaceId, "workspace/collaborator-added")).map((e) => e.data),
    ).toEqual([{ workspaceId, userId: guest.id, role: "billing" }]);
    expect(await auditOf(workspaceId, "workspaces.members.accept")).toEqual([
      expect.objectContaining({ actorId: guest.id, summary: expect.objectContaining({ email }) }),
    ]);
    expect(await auditOf(workspaceId, "workspaces.members.invite")).toHaveLength(1);

    await drain(runtime);
    const seats = await runtime.db
      .select()
      .from(seatChanges)
      .where(eq(seatChanges.workspaceId, workspaceId));
    expect(seats.map((change) => change.seats)).toEqual([2]);
    expect(await seatsInUse(runtime.db, workspaceId)).toBe(2);
  });

  it("refuses a used, expired, replaced or unknown link, and another address", async () => {
    const { workspaceId, owner } = await owned();
    const email = `guest-${uniqueSuffix()}@example.com`;
    await owner.workspaces.members.invite({ workspaceId, email, role: "member" });
    await drain(runtime);
    const first = (await invitationTo(email)).token;

    const stranger = await callerFor(runtime, (await makeUser(runtime)).id);
    await expect(stranger.workspaces.members.accept({ token: first })).rejects.toEqual(
      refusal("forbidden", new RegExp(`This invitation is for ${email}`)),
    );
    await expect(stranger.workspaces.members.accept({ token: "not-a-token" })).rejects.toEqual(
      refusal("not_found", /not valid/),
    );

    // Inviting again replaces the open invitation: the first link stops working.
    await owner.workspaces.members.invite({ workspaceId, email, role: "viewer" });
    await drain(runtime);
    const second = (await invitationTo(email)).token;
    expect(second).not.toBe(first);
    const guest = await callerFor(runtime, (await makeUser(runtime, { email })).id);
    await expect(guest.workspaces.members.accept({ token: first })).rejects.toEqual(
      refusal("conflict", /withdrawn or replaced/),
    );
    expect((await owner.workspaces.members.invites({ workspaceId })).map((i) => i.role)).toEqual([
      "viewer",
    ]);

    await guest.workspaces.members.accept({ token: second });
    await expect(guest.workspaces.members.accept({ token: second })).rejects.toEqual(
      refusal("conflict", /already used/),
    );
    expect(await seatsInUse(runtime.db, workspaceId)).toBe(2);

    const late = `late-${uniqueSuffix()}@example.com`;
    await owner.workspaces.members.invite({ workspaceId, email: late });
    await drain(runtime);
    const lateToken = (await invitationTo(late)).token;
    clock.advance(INVITE_TTL_MS);
    const lateGuest = await callerFor(runtime, (await makeUser(runtime, { email: late })).id);
    await expect(lateGuest.workspaces.members.accept({ token: lateToken })).rejects.toEqual(
      refusal("conflict", /expired/),
    );
    expect(
      await (await callerFor(runtime, null)).workspaces.members.preview({ token: lateToken }),
    ).toMatchObject({ state: "expired" });
    expect(await owner.workspaces.members.invites({ workspaceId })).toEqual([
      expect.objectContaining({ email: late, expired: true }),
    ]);
  });

  it("withdraws an invitation so its link stops working", async () => {
    const { workspaceId, owner } = await owned();
    const email = `guest-${uniqueSuffix()}@example.com`;
    const { inviteId } = await owner.workspaces.members.invite({ workspaceId, email });
    await drain(runtime);
    const { token } = await invitationTo(email);

    await owner.workspaces.members.revokeInvite({ workspaceId, inviteId });
    await expect(owner.workspaces.members.revokeInvite({ workspaceId, inviteId })).rejects.toEqual(
      refusal("conflict", /already withdrawn/),
    );
    const guest = await callerFor(runtime, (await makeUser(runtime, { email })).id);
    await expect(guest.workspaces.members.accept({ token })).rejects.toEqual(
      refusal("conflict", /withdrawn/),
    );
    expect(await auditOf(workspaceId, "workspaces.members.revokeInvite")).toHaveLength(1);
  });

  it("refuses an existing member, a role above the inviter's, and callers below admin", async () => {
    const { workspaceId, owner } = await owned();
    const admin = await join(workspaceId, "admin");
    const member = await join(workspaceId, "member");

    await expect(
      owner.workspaces.members.invite({ workspaceId, email: member.email! }),
    ).rejects.toEqual(refusal("conflict", /already a member/));
    await expect(
      admin.caller.workspaces.members.invite({
        workspaceId,
        email: "x@example.com",
        role: "owner" as "admin",
      }),
    ).rejects.toEqual(badInput(/ownership moves only by transfer/));
    await expect(
      member.caller.workspaces.members.invite({ workspaceId, email: "y@example.com" }),
    ).rejects.toEqual(refusal("forbidden"));
    // An admin may invite up to admin.
    await expect(
      admin.caller.workspaces.members.invite({
        workspaceId,
        email: "z@example.com",
        role: "admin",
      }),
    ).resolves.toMatchObject({ email: "z@example.com" });
  });

  it("counts members and open invitations against the tier's seat limit", async () => {
    const tier = await makeTier(runtime, { maxSeats: 3, name: "Small" });
    const { workspaceId, owner } = await owned(tier.code);
    await join(workspaceId, "member");
    const { inviteId } = await owner.workspaces.members.invite({
      workspaceId,
      email: `a-${uniqueSuffix()}@example.com`,
    });

    await expect(
      owner.workspaces.members.invite({ workspaceId, email: `b-${uniqueSuffix()}@example.com` }),
    ).rejects.toEqual(
      refusal("seat_limit_reached", /The Small tier allows at most 3 seats .*a higher tier/),
    );
    await owner.workspaces.members.revokeInvite({ workspaceId, inviteId });
    await expect(
      owner.workspaces.members.invite({ workspaceId, email: `b-${uniqueSuffix()}@example.com` }),
    ).resolves.toBeTruthy();
  });

  it("counts a downgrade scheduled for the period's end against the seat limit now", async () => {
    const small = await makeTier(runtime, { maxSeats: 2, name: "Tiny", monthlyPriceMinor: 0 });
    const big = await makeTier(runtime, {
      maxSeats: null,
      name: "Roomy",
      monthlyPriceMinor: 0,
    });
    const { workspaceId, owner } = await owned(big.code);
    await owner.workspaces.changeTier({ workspaceId, tierId: small.id, timing: "period_end" });
    await owner.workspaces.members.invite({
      workspaceId,
      email: `a-${uniqueSuffix()}@example.com`,
    });

    await expect(
      owner.workspaces.members.invite({ workspaceId, email: `b-${uniqueSuffix()}@example.com` }),
    ).rejects.toEqual(refusal("seat_limit_reached", /The Tiny tier allows at most 2 seats/));
  });

  it("sends one address at most three invitations an hour, from every workspace together", async () => {
    const email = `flooded-${uniqueSuffix()}@example.com`;
    const first = await owned();
    const second = await owned();
    await first.owner.workspaces.members.invite({ workspaceId: first.workspaceId, email });
    await first.owner.workspaces.members.invite({ workspaceId: first.workspaceId, email });
    await second.owner.workspaces.members.invite({ workspaceId: second.workspaceId, email });

    await expect(
      second.owner.workspaces.members.invite({ workspaceId: second.workspaceId, email }),
    ).rejects.toEqual(refusal("rate_limited", /3 times in the last hour/, "email"));
    clock.set(new Date(clock.now().getTime() + 3_600_001));
    await expect(
      second.owner.workspaces.members.invite({ workspaceId: second.workspaceId, email }),
    ).resolves.toBeTruthy();
  });

  it("withdraws the open invitations of someone who is removed", async () => {
    const { workspaceId, owner } = await owned();
    const admin = await join(workspaceId, "admin");
    const email = `accomplice-${uniqueSuffix()}@example.com`;
    await admin.caller.workspaces.members.invite({ workspaceId, email });
    await drain(runtime);
    const { token } = await invitationTo(email);

    await owner.workspaces.members.remove({ workspaceId, userId: admin.id });
    const guest = await callerFor(runtime, (await makeUser(runtime, { email })).id);
    await expect(guest.workspaces.members.accept({ token })).rejects.toEqual(
      refusal("conflict", /withdrawn/),
    );
  });
});

describe("seats", () => {
  it("lets only one of two concurrent invitations take the last seat", async () => {
    const tier = await makeTier(runtime, { maxSeats: 2, name: "Pair" });
    const { workspaceId, owner } = await owned(tier.code);

    const results = await Promise.allSettled(
      ["one", "two"].map((who) =>
        owner.workspaces.members.invite({
          workspaceId,
          email: `${who}-${uniqueSuffix()}@example.com`,
        }),
      ),
    );
    expect(results.map((result) => result.status).sort()).toEqual(["fulfilled", "rejected"]);
    const rejected = results.find((result) => result.status === "rejected");
    expect(rejected?.reason).toEqual(refusal("seat_limit_reached"));
    expect(await owner.workspaces.members.invites({ workspaceId })).toHaveLength(1);
  });

  it("records one seat count per event, however often the event is delivered", async () => {
    const { workspaceId, userId } = await owned();
    const delivered: EventEnvelope<"workspace/collaborator-added"> = {
      id: crypto.randomUUID(),
      name: "workspace/collaborator-added",
      version: 1,
      workspaceId,
      streamSeq: 1,
      object: { type: "workspace_member", id: `${workspaceId}:${userId}` },
      occurredAt: clock.now(),
      causationId: null,
      data: { workspaceId, userId, role: "owner" },
    };
    for (let delivery = 0; delivery < 2; delivery++) {
      await runtime.db.transaction((tx) =>
        recordSeatCount({
          tx,
          event: delivered,
          deps: {
            clock,
            gateway: runtime.gateway,
            notifier: runtime.notifier,
            appUrl: runtime.env.APP_URL,
            billing: runtime.executeDeps.billing,
          } satisfies ReactionDeps,
          log: runtime.logger,
        }),
      );
    }

    const rows = await runtime.db
      .select()
      .from(seatChanges)
      .where(eq(seatChanges.workspaceId, workspaceId));
    expect(rows).toEqual([
      expect.objectContaining({ seats: 1, occurredAt: clock.now(), sourceEventId: delivered.id }),
    ]);
  });
});

describe("roles, removing, leaving and ownership", () => {
  it("lets admins manage roles below admin, and only the owner manage admins", async () => {
    const { workspaceId, userId, owner } = await owned();
    const admin = await join(workspaceId, "admin");
    const otherAdmin = await join(workspaceId, "admin");
    const viewer = await join(workspaceId, "viewer");

    await admin.caller.workspaces.members.changeRole({
      workspaceId,
      userId: viewer.id,
      role: "admin",
    });
    await expect(
      admin.caller.workspaces.members.changeRole({
        workspaceId,
        userId: otherAdmin.id,
        role: "member",
      }),
    ).rejects.toEqual(refusal("forbidden", /Only the owner can change the role of an admin/));
    await expect(
      admin.caller.workspaces.members.changeRole({ workspaceId, userId, role: "admin" }),
    ).rejects.toEqual(refusal("forbidden", /Nobody can change the role of the owner/));
    // The promoted viewer is an admin now, and admins do not change admins, themselves included.
    await expect(
      viewer.caller.workspaces.members.changeRole({
        workspaceId,
        userId: viewer.id,
        role: "member",
      }),
    ).rejects.toEqual(refusal("forbidden", /Only the owner/));
    await owner.workspaces.members.changeRole({ workspaceId, userId: viewer.id, role: "member" });
    await owner.workspaces.members.changeRole({
      workspaceId,
      userId: otherAdmin.id,
      role: "viewer",
    });

    const roles = Object.fromEntries(
      (await owner.workspaces.members.list({ workspaceId })).map((m) => [m.userId, m.role]),
    );
    expect(roles).toMatchObject({ [viewer.id]: "member", [otherAdmin.id]: "viewer" });
    expect(
      (await auditOf(workspaceId, "workspaces.members.changeRole")).map((row) => row.summary),
    ).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ userId: otherAdmin.id, from: "admin", to: "viewer" }),
      ]),
    );
  });

  it("removes members and lets anyone but the owner leave, recording seats each time", async () => {
    const { workspaceId, userId, owner } = await owned();
    const admin = await join(workspaceId, "admin");
    const member = await join(workspaceId, "member");
    const viewer = await join(workspaceId, "viewer");

    await expect(admin.caller.workspaces.members.remove({ workspaceId, userId })).rejects.toEqual(
      refusal("forbidden", /Nobody can remove the owner/),
    );
    await expect(owner.workspaces.members.leave({ workspaceId })).rejects.toEqual(
      refusal("conflict", /transfer ownership/),
    );
    await expect(
      member.caller.workspaces.members.remove({ workspaceId, userId: viewer.id }),
    ).rejects.toEqual(refusal("forbidden"));

    await admin.caller.workspaces.members.remove({ workspaceId, userId: member.id });
    await viewer.caller.workspaces.members.leave({ workspaceId });
    await expect(viewer.caller.workspaces.members.list({ workspaceId })).rejects.toEqual(
      refusal("not_found"),
    );
    expect(
      (await eventsNamed(runtime, workspaceId, "workspace/collaborator-removed")).map(
        (e) => e.data,
      ),
    ).toEqual([
      { workspaceId, userId: member.id },
      { workspaceId, userId: viewer.id },
    ]);
    await drain(runtime);
    const seats = await runtime.db
      .select({ seats: seatChanges.seats })
      .from(seatChanges)
      .where(eq(seatChanges.workspaceId, workspaceId))
      .orderBy(seatChanges.occurredAt, seatChanges.seats);
    expect(seats.map((row) => row.seats).sort()).toEqual([2, 2]);
    expect(await auditOf(workspaceId, "workspaces.members.remove")).toHaveLength(1);
    expect(await auditOf(workspaceId, "workspaces.members.leave")).toHaveLength(1);
  });

  it("transfers ownership to a member; the old owner stays as admin", async () => {
    const { workspaceId, userId, owner } = await owned();
    const admin = await join(workspaceId, "admin");
    const member = await join(workspaceId, "member");

    await expect(
      admin.caller.workspaces.members.transferOwnership({ workspaceId, userId: member.id }),
    ).rejects.toEqual(refusal("forbidden"));
    const stranger = await makeUser(runtime);
    await expect(
      owner.workspaces.members.transferOwnership({ workspaceId, userId: stranger.id }),
    ).rejects.toEqual(refusal("not_found", /not a member/));

    await owner.workspaces.members.transferOwnership({ workspaceId, userId: member.id });
    const roles = Object.fromEntries(
      (await owner.workspaces.members.list({ workspaceId })).map((m) => [m.userId, m.role]),
    );
    expect(roles).toEqual({ [member.id]: "owner", [userId]: "admin", [admin.id]: "admin" });
    await expect(owner.workspaces.members.leave({ workspaceId })).resolves.toBeTruthy();
    expect(await auditOf(workspaceId, "workspaces.members.transferOwnership")).toEqual([
      expect.objectContaining({
        actorId: userId,
        summary: expect.objectContaining({ to: member.id, toPreviousRole: "member" }),
      }),
    ]);
  });
});

describe("renaming a workspace", () => {
  it("changes name and address, refuses a taken address beside the field, admins only", async () => {
    const { workspaceId, owner } = await owned();
    const other = await makeWorkspace(runtime);
    const member = await join(workspaceId, "member");
    const slug = `renamed-${uniqueSuffix()}`;

    await expect(
      owner.workspaces.rename({ workspaceId, name: "Acme", slug: other.slug }),
    ).rejects.toEqual(refusal("conflict", /is taken/, "slug"));
    await expect(
      owner.workspaces.rename({ workspaceId, name: "Acme", slug: "Not A Slug" }),
    ).rejects.toEqual(badInput(/lowercase letters, digits and single hyphens/));
    // A right-to-left override would make "Acme\u202Egpj.exe" print as "Acmeexe.jpg".
    await expect(
      owner.workspaces.rename({ workspaceId, name: "Acme\u202Egpj.exe", slug }),
    ).rejects.toEqual(badInput(/invisible text-direction characters/));
    await expect(
      member.caller.workspaces.rename({ workspaceId, name: "Mine", slug }),
    ).rejects.toEqual(refusal("forbidden"));

    await owner.workspaces.rename({ workspaceId, name: " Acme Labs ", slug });
    const [workspace] = await owner.workspaces.list();
    expect(workspace).toMatchObject({ name: "Acme Labs", slug });
    expect(await auditOf(workspaceId, "workspaces.rename")).toHaveLength(1);
  });
});
