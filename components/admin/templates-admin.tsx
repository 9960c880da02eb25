"use client";

import { useQuery } from "@tanstack/react-query";

import { Badge } from "@/components/ui/badge";
import { Card, CardBody } from "@/components/ui/card";
import { cn } from "@/components/ui/cn";
import { CodeBlock } from "@/components/ui/code-block";
import { humanize } from "@/components/lib/format";
import type { RouterOutputs } from "@/components/lib/router-types";
import { useTRPC } from "@/components/lib/trpc";
import { EmailFrame } from "@/components/notifications/email-frame";
import { channelLabel } from "@/components/notifications/labels";

type Template = RouterOutputs["notifications"]["admin"]["templates"][number];

const audienceLabel: Record<Template["audience"], string> = {
  owners: "Workspace owners",
  admins: "Workspace admins and owners",
  billing: "Billing members, admins and owners",
  members: "Every workspace member",
  platform_admins: "Platform admins",
  address: "One email address, given when sent",
};

export function TemplatesAdmin() {
  const trpc = useTRPC();
  const templates = useQuery(trpc.notifications.admin.templates.queryOptions());

  if (templates.isPending) {
    return (
      <div aria-busy="true" className="space-y-4">
        <div className="h-64 animate-pulse rounded-lg bg-slate-200/70" />
        <div className="h-64 animate-pulse rounded-lg bg-slate-200/70" />
      </div>
    );
  }
  if (templates.isError) {
    return (
      <p className="text-sm text-red-600">
        Could not render the templates: {templates.error.message}
      </p>
    );
  }

  return (
    <div className="space-y-6">
      <nav
        aria-label="Notification types"
        className="rounded-lg bg-white p-4 ring-1 ring-slate-200"
      >
        <ul className="flex flex-wrap gap-x-4 gap-y-1.5 text-sm">
          {templates.data.map((template) => (
            <li key={template.type}>
              <a
                href={`#${anchor(template.type)}`}
                className="font-medium text-indigo-600 hover:text-indigo-500"
              >
                {template.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {templates.data.map((template) => (
        <TemplateCard key={template.type} template={template} />
      ))}
    </div>
  );
}

function anchor(type: string): string {
  return `template-${type.replace(/[^a-z0-9]+/gi, "-")}`;
}

function SectionTitle({ children, note }: { children: string; note?: string }) {
  return (
    <h4
      className={cn(
        "mb-1.5 flex items-center gap-2 text-xs font-medium tracking-wide text-slate-500",
        "uppercase",
      )}
    >
      {children}
      {note && <span className="font-normal tracking-normal normal-case">({note})</span>}
    </h4>
  );
}

function TemplateCard({ template }: { template: Template }) {
  const hasEmail = template.channels.includes("email");
  const hasInApp = template.channels.includes("in_app");

  return (
    <Card>
      <section
        id={anchor(template.type)}
        aria-labelledby={`${anchor(template.type)}-title`}
        className="scroll-mt-6"
      >
        <div className="border-b border-slate-100 px-5 py-4">
          <div className="flex flex-wrap items-center gap-2">
            <h3
              id={`${anchor(template.type)}-title`}
              className="text-base font-semibold text-slate-900"
            >
              {template.label}
            </h3>
            <code className="font-mono text-xs text-slate-500">{template.type}</code>
            <Badge
              tone={
                template.category === "security" || template.category === "billing"
                  ? "amber"
                  : "neutral"
              }
            >
              {humanize(template.category)}
            </Badge>
          </div>
          <p className="mt-0.5 text-sm text-slate-500">{template.description}</p>
        </div>
        <CardBody className="grid gap-6 lg:grid-cols-[minmax(0,2fr)_minmax(0,3fr)]">
          <div className="min-w-0 space-y-5">
            <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 text-sm">
              <dt className="text-slate-500">Audience</dt>
              <dd className="text-slate-900">{audienceLabel[template.audience]}</dd>
              <dt className="text-slate-500">Channels</dt>
              <dd className="flex flex-wrap gap-1.5">
                {template.channels.map((channel) => (
                  <Badge key={channel} tone="indigo">
                    {channelLabel[channel]}
                  </Badge>
                ))}
              </dd>
              <dt className="text-slate-500">Trigger</dt>
              <dd>
                {template.trigger ? (
                  <code className="font-mono text-xs text-slate-800">{template.trigger}</code>
                ) : (
                  <span className="text-slate-600">Sent by request</span>
                )}
              </dd>
            </dl>
            <section>
              <SectionTitle note={hasInApp ? undefined : "the title also names it in histories"}>
                In-app summary
              </SectionTitle>
              <div className="rounded-md bg-indigo-50/40 px-4 py-3 ring-1 ring-slate-200">
                <p className="text-sm font-medium text-slate-900">{template.inApp.title}</p>
                <p className="mt-0.5 text-sm text-slate-600">{template.inApp.body}</p>
                {template.inApp.link && (
                  <p className="mt-1 font-mono text-xs text-indigo-600">{template.inApp.link}</p>
                )}
              </div>
            </section>
            <section>
              <SectionTitle>Sample data</SectionTitle>
              <CodeBlock label={`Sample data of ${template.label}`}>
                {JSON.stringify(template.sample, null, 2)}
              </CodeBlock>
            </section>
          </div>
          <div className={cn("min-w-0 space-y-4", !hasEmail && "opacity-80")}>
            <section>
              <SectionTitle note={hasEmail ? undefined : "this type is not sent by email"}>
                Email subject
              </SectionTitle>
              <p className="text-sm font-medium text-slate-900">{template.subject}</p>
            </section>
            <section>
              <SectionTitle>HTML part</SectionTitle>
              <EmailFrame title={`HTML part of "${template.subject}"`} html={template.html} />
            </section>
            <section>
              <SectionTitle>Text part</SectionTitle>
              <CodeBlock prose>{template.text}</CodeBlock>
            </section>
          </div>
        </CardBody>
      </section>
    </Card>
  );
}
