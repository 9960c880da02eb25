"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { Dialog } from "@/components/ui/dialog";
import { Field, describedBy } from "@/components/ui/field";
import { Input } from "@/components/ui/input";
import { QueryRows, Table, Td, Th } from "@/components/ui/table";
import { formatDateTime, humanize } from "@/components/lib/format";
import { formErrorsOf, noErrors, type FormErrors } from "@/components/lib/form-errors";
import { isWorkspaceAdmin } from "@/components/lib/roles";
import type { QueryResult, RouterOutputs, Workspace } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";
import { canGrant, canManage, workspaceRoles, type WorkspaceRole } from "@/server/auth/roles";

import { DisabledReason, readOnlyReason } from "./read-only";
import { useWorkspace } from "./use-workspace";

type Member = RouterOutputs["workspaces"]["members"]["list"][number];
type GrantableRole = Exclude<WorkspaceRole, "owner">;

const roleHelp: Record<WorkspaceRole, string> = {
  owner: "everything, including transferring ownership",
  admin: "members, API keys, webhooks and billing",
  billing: "buying credits and billing notices",
  member: "uses features and sees the workspace",
  viewer: "sees the workspace, changes nothing",
};

/** The roles someone with `role` may give, most powerful first. */
function grantable(role: WorkspaceRole): GrantableRole[] {
  return workspaceRoles.filter((r): r is GrantableRole => canGrant(role, r));
}

export function MembersPanel({ slug }: { slug: string }) {
  const workspace = useWorkspace(slug);
  if (!workspace.data) return null;

  return <Members workspace={workspace.data} />;
}

function Members({ workspace }: { workspace: Workspace }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const scope = { workspaceId: workspace.workspaceId };
  const admin = isWorkspaceAdmin(workspace.role);
  const members = useQuery(trpc.workspaces.members.list.queryOptions(scope));
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries(trpc.workspaces.members.list.queryFilter(scope)),
      queryClient.invalidateQueries(trpc.workspaces.members.invites.queryFilter(scope)),
    ]);

  return (
    <div className="space-y-6">
      {admin && <InviteForm workspace={workspace} onInvited={refresh} />}
      <MemberList workspace={workspace} members={members} onChanged={refresh} />
      {admin && <PendingInvites workspace={workspace} onChanged={refresh} />}
    </div>
  );
}

function InviteForm({ workspace, onInvited }: { workspace: Workspace; onInvited: () => void }) {
  const trpc = useTRPC();
  const invite = useMutation(trpc.workspaces.members.invite.mutationOptions());
  const roles = grantable(workspace.role);
  const unavailable = readOnlyReason(workspace, "Inviting is");
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<GrantableRole>("member");
  const [errors, setErrors] = useState<FormErrors<"email" | "role">>(noErrors);
  const [sent, setSent] = useState<string>();

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setErrors(noErrors);
    setSent(undefined);
    try {
      const result = await invite.mutateAsync({ workspaceId: workspace.workspaceId, email, role });
      setSent(
        `Invitation sent to ${result.email}; the link works until ${formatDateTime(result.expiresAt)}.`,
      );
      setEmail("");
      onInvited();
    } catch (error) {
      setErrors(formErrorsOf(error, ["email", "role"]));
    }
  }

  return (
    <Card>
      <CardHeader
        title="Invite someone"
        description="They get an email with a link that works for 7 days; they sign up if they have no account."
      />
      <CardBody>
        <form onSubmit={submit} className="space-y-3" noValidate>
          {errors.form && <Alert tone="error">{errors.form}</Alert>}
          {sent && (
            <Alert tone="success">
              <span data-testid="invite-sent">{sent}</span>
            </Alert>
          )}
          <div className="flex flex-wrap items-start gap-3">
            <Field id="invite-email" label="Email" error={errors.fields.email} className="w-72">
              <Input
                id="invite-email"
                name="email"
                type="email"
                value={email}
                placeholder="colleague@example.com"
                disabled={unavailable !== undefined}
                invalid={Boolean(errors.fields.email)}
                aria-describedby={describedBy("invite-email", errors.fields.email)}
                onChange={(event) => setEmail(event.target.value)}
              />
            </Field>
            <Field id="invite-role" label="Role" error={errors.fields.role} className="w-44">
              <select
                id="invite-role"
                name="role"
                value={role}
                disabled={unavailable !== undefined}
                aria-describedby={describedBy("invite-role", errors.fields.role)}
                className="h-10 w-full rounded-md border-0 bg-white px-3 text-sm ring-1 ring-slate-300 ring-inset"
                onChange={(event) => setRole(event.target.value as GrantableRole)}
              >
                {roles.map((r) => (
                  <option key={r} value={r}>
                    {humanize(r)}
                  </option>
                ))}
              </select>
            </Field>
            <Button
              type="submit"
              className="mt-7"
              pending={invite.isPending}
              disabled={unavailable !== undefined}
            >
              Send invitation
            </Button>
          </div>
          <p className="text-xs text-slate-500">
            {humanize(role)}: {roleHelp[role]}.
          </p>
          <DisabledReason reason={unavailable} />
        </form>
      </CardBody>
    </Card>
  );
}

function MemberList({
  workspace,
  members,
  onChanged,
}: {
  workspace: Workspace;
  members: QueryResult<Member[]>;
  onChanged: () => void;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const me = workspace.role;
  const [error, setError] = useState<string>();
  const [transferTo, setTransferTo] = useState<Member>();
  const options = {
    onSuccess: () => setError(undefined),
    onError: (e: { message: string }) => setError(e.message),
    onSettled: onChanged,
  };
  const changeRole = useMutation(trpc.workspaces.members.changeRole.mutationOptions(options));
  const remove = useMutation(trpc.workspaces.members.remove.mutationOptions(options));
  const leave = useMutation(
    trpc.workspaces.members.leave.mutationOptions({
      onError: (e) => setError(e.message),
      onSuccess: async () => {
        await queryClient.invalidateQueries(trpc.workspaces.list.queryFilter());
        router.push("/");
      },
    }),
  );
  const scope = { workspaceId: workspace.workspaceId };
  const writable = readOnlyReason(workspace, "Changing roles is") === undefined;
  const rows = members.data ?? [];

  return (
    <Card>
      <CardHeader
        title="Members"
        description={
          isWorkspaceAdmin(me)
            ? "Admins manage billing members, members and viewers; only the owner manages admins."
            : "Who is in this workspace. Owners and admins manage it."
        }
      />
      {error && (
        <div className="px-5 pt-4">
          <Alert tone="error">{error}</Alert>
        </div>
      )}
      <Table label="Members">
        <thead className="bg-slate-50/60">
          <tr>
            <Th>Member</Th>
            <Th>Role</Th>
            <Th>Joined</Th>
            <Th>
              <span className="sr-only">Actions</span>
            </Th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          <QueryRows
            query={members}
            colSpan={4}
            subject="the members"
            isEmpty={rows.length === 0}
            empty="No members."
          />
          {rows.map((member) => {
            const manageable = writable && canManage(me, member.role);
            const label = member.name ?? member.email ?? "Member";

            return (
              <tr key={member.userId} data-testid="member-row">
                <Td>
                  <p className="font-medium text-slate-800">
                    {label}
                    {member.isMe && <span className="ml-1.5 text-xs text-slate-500">(you)</span>}
                  </p>
                  {member.name && <p className="text-xs text-slate-500">{member.email}</p>}
                </Td>
                <Td>
                  {manageable ? (
                    <select
                      aria-label={`Role of ${label}`}
                      value={member.role}
                      disabled={changeRole.isPending}
                      className="h-8 rounded-md border-0 bg-white px-2 text-sm ring-1 ring-slate-300 ring-inset"
                      onChange={(event) =>
                        changeRole.mutate({
                          ...scope,
                          userId: member.userId,
                          role: event.target.value as GrantableRole,
                        })
                      }
                    >
                      {grantable(me).map((r) => (
                        <option key={r} value={r}>
                          {humanize(r)}
                        </option>
                      ))}
                    </select>
                  ) : (
                    <Badge tone={member.role === "owner" ? "indigo" : "neutral"}>
                      {humanize(member.role)}
                    </Badge>
                  )}
                </Td>
                <Td className="whitespace-nowrap text-slate-500">
                  {formatDateTime(member.joinedAt)}
                </Td>
                <Td className="space-x-2 text-right whitespace-nowrap">
                  {me === "owner" && !member.isMe && writable && (
                    <Button variant="secondary" size="sm" onClick={() => setTransferTo(member)}>
                      Make owner
                    </Button>
                  )}
                  {manageable && !member.isMe && (
                    <Button
                      variant="danger"
                      size="sm"
                      disabled={remove.isPending}
                      onClick={() => {
                        if (window.confirm(`Remove ${label}? They lose access at once.`)) {
                          remove.mutate({ ...scope, userId: member.userId });
                        }
                      }}
                    >
                      Remove
                    </Button>
                  )}
                  {member.isMe && member.role !== "owner" && (
                    <Button
                      variant="danger"
                      size="sm"
                      pending={leave.isPending}
                      onClick={() => {
                        if (window.confirm(`Leave ${workspace.name}? You lose access at once.`)) {
                          leave.mutate(scope);
                        }
                      }}
                    >
                      Leave
                    </Button>
                  )}
                </Td>
              </tr>
            );
          })}
        </tbody>
      </Table>
      {me === "owner" && (
        <CardBody className="text-xs text-slate-500">
          To leave this workspace, make another member its owner first; you stay on as admin.
        </CardBody>
      )}
      {transferTo && (
        <TransferDialog
          workspace={workspace}
          member={transferTo}
          onClose={() => setTransferTo(undefined)}
          onDone={() => {
            setTransferTo(undefined);
            onChanged();
            void queryClient.invalidateQueries(trpc.workspaces.bySlug.queryFilter());
            void queryClient.invalidateQueries(trpc.workspaces.list.queryFilter());
          }}
        />
      )}
    </Card>
  );
}

/** Ownership moves only after typing the new owner's email, since it cannot be taken back. */
function TransferDialog({
  workspace,
  member,
  onClose,
  onDone,
}: {
  workspace: Workspace;
  member: Member;
  onClose: () => void;
  onDone: () => void;
}) {
  const trpc = useTRPC();
  const transfer = useMutation(trpc.workspaces.members.transferOwnership.mutationOptions());
  const [typed, setTyped] = useState("");
  const expected = (member.email ?? "").toLowerCase();
  const matches = expected !== "" && typed.trim().toLowerCase() === expected;

  return (
    <Dialog
      title={`Make ${member.name ?? member.email} the owner of ${workspace.name}?`}
      description="You become an admin. Only the new owner can give ownership back."
      onClose={onClose}
    >
      <form
        className="space-y-4 px-5 py-4"
        onSubmit={async (event) => {
          event.preventDefault();
          if (!matches) return;
          try {
            await transfer.mutateAsync({
              workspaceId: workspace.workspaceId,
              userId: member.userId,
            });
            onDone();
          } catch {
            // Shown below from transfer.error.
          }
        }}
      >
        {transfer.error && <Alert tone="error">{transfer.error.message}</Alert>}
        <Field id="transfer-confirm" label={`Type ${member.email} to confirm`}>
          <Input
            id="transfer-confirm"
            autoComplete="off"
            value={typed}
            onChange={(event) => setTyped(event.target.value)}
          />
        </Field>
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" variant="danger" disabled={!matches} pending={transfer.isPending}>
            Transfer ownership
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function PendingInvites({ workspace, onChanged }: { workspace: Workspace; onChanged: () => void }) {
  const trpc = useTRPC();
  const scope = { workspaceId: workspace.workspaceId };
  const invites = useQuery(trpc.workspaces.members.invites.queryOptions(scope));
  const [message, setMessage] = useState<{ tone: "error" | "success"; text: string }>();
  const resend = useMutation(
    trpc.workspaces.members.invite.mutationOptions({
      onSuccess: (result) =>
        setMessage({ tone: "success", text: `A new link was sent to ${result.email}.` }),
      onError: (e) => setMessage({ tone: "error", text: e.message }),
      onSettled: onChanged,
    }),
  );
  const revoke = useMutation(
    trpc.workspaces.members.revokeInvite.mutationOptions({
      onSuccess: () => setMessage(undefined),
      onError: (e) => setMessage({ tone: "error", text: e.message }),
      onSettled: onChanged,
    }),
  );
  const canInvite = readOnlyReason(workspace) === undefined;
  const rows = invites.data ?? [];

  return (
    <Card>
      <CardHeader
        title="Pending invitations"
        description="Resending replaces the link: the old one stops working. Open invitations hold a seat."
      />
      {message && (
        <div className="px-5 pt-4">
          <Alert tone={message.tone}>{message.text}</Alert>
        </div>
      )}
      <Table label="Pending invitations">
        <thead className="bg-slate-50/60">
          <tr>
            <Th>Email</Th>
            <Th>Role</Th>
            <Th>Invited by</Th>
            <Th>Expires</Th>
            <Th>
              <span className="sr-only">Actions</span>
            </Th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          <QueryRows
            query={invites}
            colSpan={5}
            subject="the invitations"
            isEmpty={rows.length === 0}
            empty="No pending invitations."
          />
          {rows.map((invite) => (
            <tr key={invite.id} data-testid="invite-row">
              <Td className="font-medium text-slate-800">{invite.email}</Td>
              <Td>{humanize(invite.role)}</Td>
              <Td className="text-slate-500">{invite.invitedBy ?? "—"}</Td>
              <Td className="whitespace-nowrap">
                {invite.expired ? (
                  <Badge tone="red">Expired {formatDateTime(invite.expiresAt)}</Badge>
                ) : (
                  <span className="text-slate-500">{formatDateTime(invite.expiresAt)}</span>
                )}
              </Td>
              <Td className="space-x-2 text-right whitespace-nowrap">
                {canInvite && canGrant(workspace.role, invite.role) && (
                  <Button
                    variant="secondary"
                    size="sm"
                    disabled={resend.isPending}
                    onClick={() =>
                      resend.mutate({
                        ...scope,
                        email: invite.email,
                        role: invite.role as GrantableRole,
                      })
                    }
                  >
                    Resend
                  </Button>
                )}
                {canGrant(workspace.role, invite.role) && (
                  <Button
                    variant="danger"
                    size="sm"
                    disabled={revoke.isPending}
                    onClick={() => revoke.mutate({ ...scope, inviteId: invite.id })}
                  >
                    Revoke
                  </Button>
                )}
              </Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </Card>
  );
}
