import type { Metadata } from "next";
import type { ReactNode } from "react";

import { Brand } from "@/components/brand";
import { Badge } from "@/components/ui/badge";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { CopyButton } from "@/components/ui/copy-button";
import {
  API_BASE_PATH,
  curlSample,
  endpoints,
  errorStatusText,
  fetchSample,
  type Endpoint,
} from "@/server/api/openapi";
import { loadEnv } from "@/server/env";
import { errorCodes } from "@/server/errors";

export const metadata: Metadata = { title: "Metering API" };
// The base URL and the rate limit come from the running server's environment.
export const dynamic = "force-dynamic";

/** The metering API's reference, from the same endpoint list as /api/v1/openapi.json. */
export default function ApiDocsPage() {
  const env = loadEnv();
  const baseUrl = env.APP_URL.replace(/\/+$/, "");

  return (
    <div className="min-h-screen">
      <header className="mx-auto flex max-w-5xl items-center justify-between px-6 py-5">
        <Brand />
        <a
          href={`${API_BASE_PATH}/openapi.json`}
          className="text-sm font-medium text-indigo-600 hover:underline"
        >
          OpenAPI 3.1 document
        </a>
      </header>
      <main className="mx-auto max-w-5xl space-y-8 px-6 pt-4 pb-24">
        <div>
          <h1 className="text-3xl font-semibold tracking-tight text-slate-900">Metering API</h1>
          <p className="mt-2 max-w-3xl text-slate-600">
            Your services call it on every billable action. Every path below is under{" "}
            <Code>
              {baseUrl}
              {API_BASE_PATH}
            </Code>
            ; bodies and answers are JSON.
          </p>
        </div>

        <Card>
          <CardHeader title="Authentication, scopes and limits" />
          <CardBody className="space-y-3 text-sm text-slate-700">
            <p>
              Send a workspace API key as <Code>Authorization: Bearer tally_sk_…</Code>. Workspace
              admins create keys on the workspace&apos;s API keys page; a key is shown once, and it
              decides the workspace. Its scopes decide what it may call: <Code>usage:write</Code>{" "}
              consumes credits and places, finalizes and releases holds; <Code>balance:read</Code>{" "}
              reads the balance. A call outside its scopes is <Code>403 insufficient_scope</Code>.
            </p>
            <p>
              Each key may make {env.TALLY_API_RATE_PER_SECOND.toLocaleString("en-US")} requests a
              second, and {env.TALLY_API_RATE_BURST.toLocaleString("en-US")} at once after a quiet
              spell; a batch counts as one request. Past that the answer is{" "}
              <Code>429 rate_limited</Code> with a <Code>Retry-After</Code> header in seconds.
            </p>
            <p>
              Calls that charge credits take an <Code>Idempotency-Key</Code> (batch items carry
              their own): a retry with the same key and body returns the first answer with{" "}
              <Code>Idempotent-Replayed: true</Code> and charges nothing more; the same key with
              another body is <Code>409 idempotency_conflict</Code>. Keys are kept for 30 days.
            </p>
          </CardBody>
        </Card>

        {endpoints.map((endpoint) => (
          <EndpointCard key={endpoint.id} endpoint={endpoint} baseUrl={baseUrl} />
        ))}

        <Card>
          <CardHeader
            title="Errors"
            description={
              <>
                Every error is <Code>{"{ error: { code, message, field?, details } }"}</Code>; the
                code is stable, the message is for people.
              </>
            }
          />
          <CardBody>
            <table className="w-full text-left text-sm">
              <thead className="text-xs text-slate-500">
                <tr>
                  <th className="py-1.5 pr-4 font-medium">Status</th>
                  <th className="py-1.5 pr-4 font-medium">Code</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {Object.entries(errorCodes).map(([code, { http }]) => (
                  <tr key={code}>
                    <td className="py-1.5 pr-4 text-slate-500">{http}</td>
                    <td className="py-1.5 pr-4">
                      <Code>{code}</Code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <ul className="mt-4 space-y-1 text-sm text-slate-600">
              {Object.entries(errorStatusText).map(([status, text]) => (
                <li key={status}>
                  <span className="font-medium text-slate-800">{status}</span> {text}
                </li>
              ))}
            </ul>
          </CardBody>
        </Card>
      </main>
    </div>
  );
}

function Code({ children }: { children: ReactNode }) {
  return (
    <code className="rounded bg-slate-100 px-1 py-0.5 font-mono text-[0.85em] text-slate-800">
      {children}
    </code>
  );
}

function Sample({ title, code }: { title: string; code: string }) {
  return (
    <div>
      <div className="mb-1.5 flex items-center justify-between">
        <p className="text-xs font-medium tracking-wide text-slate-500 uppercase">{title}</p>
        <CopyButton value={code} label="Copy" />
      </div>
      <pre className="overflow-x-auto rounded-md bg-slate-900 px-4 py-3 font-mono text-xs leading-relaxed text-slate-100">
        {code}
      </pre>
    </div>
  );
}

function EndpointCard({ endpoint, baseUrl }: { endpoint: Endpoint; baseUrl: string }) {
  return (
    <Card>
      <CardHeader
        title={
          <span id={endpoint.id} className="flex flex-wrap items-center gap-2">
            <Badge tone={endpoint.method === "GET" ? "green" : "indigo"}>{endpoint.method}</Badge>
            <code className="font-mono text-sm">
              {API_BASE_PATH}
              {endpoint.path}
            </code>
          </span>
        }
        description={endpoint.summary}
        action={endpoint.scope ? <Badge>{endpoint.scope}</Badge> : undefined}
      />
      <CardBody className="space-y-4">
        <p className="text-sm text-slate-700">{endpoint.description}</p>
        <Sample title="curl" code={curlSample(endpoint, baseUrl)} />
        <Sample title="TypeScript" code={fetchSample(endpoint, baseUrl)} />
        <div className="grid gap-4 lg:grid-cols-2">
          {endpoint.request && (
            <Sample title="Body" code={JSON.stringify(endpoint.request.example, null, 2)} />
          )}
          <Sample
            title={`${endpoint.success.status} answer`}
            code={JSON.stringify(endpoint.success.example, null, 2)}
          />
          {endpoint.alternatives?.map((alternative) => (
            <Sample
              key={alternative.status}
              title={`${alternative.status} answer`}
              code={JSON.stringify(alternative.example, null, 2)}
            />
          ))}
        </div>
        <p className="text-xs text-slate-500">Errors: {endpoint.errors.join(", ")} (see below).</p>
      </CardBody>
    </Card>
  );
}
