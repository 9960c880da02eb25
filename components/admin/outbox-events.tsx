import { Badge } from "@/components/ui/badge";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { formatDateTime } from "@/components/lib/format";

/** An outbox event as the admin pages list it. */
export interface OutboxEventRow {
  id: string | number;
  name: string;
  streamSeq: number;
  occurredAt: Date | string;
  publishedAt: Date | string | null;
  lastError: string | null;
  attempts: number;
}

/** Outbox events with their publishing state: one table for every admin page that shows them. */
export function OutboxEventsTable({
  label,
  events,
  rowTestId,
}: {
  label: string;
  events: readonly OutboxEventRow[];
  rowTestId: string;
}) {
  return (
    <Table label={label}>
      <thead className="bg-slate-50/60">
        <tr>
          <Th>Event</Th>
          <Th>Occurred</Th>
          <Th>Published</Th>
        </tr>
      </thead>
      <tbody className="divide-y divide-slate-100">
        {events.map((event) => (
          <tr key={event.id} data-testid={rowTestId}>
            <Td>
              <span className="font-mono text-xs">{event.name}</span>
              <span className="ml-2 text-xs text-slate-400">#{event.streamSeq}</span>
            </Td>
            <Td className="whitespace-nowrap text-slate-500">{formatDateTime(event.occurredAt)}</Td>
            <Td>
              {event.publishedAt ? (
                <Badge tone="green">Published {formatDateTime(event.publishedAt)}</Badge>
              ) : (
                <Badge tone={event.lastError ? "red" : "amber"}>
                  {event.lastError ? `Failing (${event.attempts} attempts)` : "Waiting"}
                </Badge>
              )}
            </Td>
          </tr>
        ))}
        {events.length === 0 && <EmptyRow colSpan={3}>No events yet.</EmptyRow>}
      </tbody>
    </Table>
  );
}
