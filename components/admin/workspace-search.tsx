"use client";

import { useQuery } from "@tanstack/react-query";
import { useId, useState, type FormEvent, type ReactNode } from "react";

import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { Field } from "@/components/ui/field";
import { Input } from "@/components/ui/input";
import { QueryRows, Table, Td, Th } from "@/components/ui/table";
import { formatCredits, humanize } from "@/components/lib/format";
import type { RouterOutputs } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";

export type FoundWorkspace = RouterOutputs["workspaces"]["admin"]["find"]["rows"][number];

export const statusTone = {
  active: "green",
  suspended: "amber",
  cancelled: "red",
  deleted: "neutral",
} as const;

/**
 * The credits admin's workspace finder: a search by name, address, a member's
 * email or id, and a table (the first 25 matches) to select one from. The selected workspace is rendered
 * by `children`, fresh from the same query, so it shows what an action just
 * changed.
 */
export function WorkspaceSearch({
  description,
  children,
}: {
  description: string;
  children: (workspace: FoundWorkspace | undefined) => ReactNode;
}) {
  const trpc = useTRPC();
  const id = useId();
  const [text, setText] = useState("");
  const [query, setQuery] = useState("");
  const [selectedId, setSelectedId] = useState<string>();
  const found = useQuery(
    trpc.workspaces.admin.find.queryOptions({ query }, { placeholderData: (previous) => previous }),
  );
  const rows = found.data?.rows ?? [];
  const selected = rows.find((row) => row.id === selectedId);

  function search(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setQuery(text.trim());
  }

  return (
    <div className="space-y-6">
      <Card>
        <CardHeader title="Find a workspace" description={description} />
        <CardBody className="border-b border-slate-100">
          <form onSubmit={search} noValidate className="flex max-w-xl items-end gap-2">
            <Field id={`${id}-query`} label="Search" className="flex-1">
              <Input
                id={`${id}-query`}
                type="search"
                value={text}
                placeholder="acme, acme-labs or someone@example.com"
                onChange={(event) => setText(event.target.value)}
              />
            </Field>
            <Button type="submit" variant="secondary" pending={found.isFetching && query !== ""}>
              Search
            </Button>
          </form>
        </CardBody>
        <Table label="Workspaces found">
          <thead className="bg-slate-50/60">
            <tr>
              <Th>Workspace</Th>
              <Th>Owner</Th>
              <Th>Tier</Th>
              <Th>Status</Th>
              <Th align="right">Balance</Th>
              <Th>
                <span className="sr-only">Select</span>
              </Th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            <QueryRows
              query={found}
              colSpan={6}
              subject="the workspaces"
              isEmpty={rows.length === 0}
              empty={query ? `No workspace matches "${query}".` : "No workspaces yet."}
            />
            {rows.map((row) => (
              <tr
                key={row.id}
                data-testid="admin-workspace-row"
                className={row.id === selectedId ? "bg-indigo-50/50" : undefined}
              >
                <Td>
                  <span className="font-medium text-slate-800">{row.name}</span>
                  <span className="mt-0.5 block font-mono text-xs text-slate-400">
                    /w/{row.slug}
                  </span>
                </Td>
                <Td className="text-slate-600">{row.ownerEmail ?? "—"}</Td>
                <Td>{row.tierName}</Td>
                <Td>
                  <Badge tone={statusTone[row.status]}>{humanize(row.status)}</Badge>
                </Td>
                <Td numeric>{formatCredits(Number(row.balance ?? 0))}</Td>
                <Td className="text-right">
                  <Button
                    variant={row.id === selectedId ? "primary" : "secondary"}
                    size="sm"
                    aria-pressed={row.id === selectedId}
                    onClick={() => setSelectedId(row.id)}
                  >
                    {row.id === selectedId ? "Selected" : "Select"}
                  </Button>
                </Td>
              </tr>
            ))}
          </tbody>
        </Table>
      </Card>
      {children(selected)}
    </div>
  );
}
