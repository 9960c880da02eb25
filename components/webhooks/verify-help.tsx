import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { CodeBlock } from "@/components/ui/code-block";

function Code({ children }: { children: string }) {
  return (
    <code className="rounded bg-slate-100 px-1 py-0.5 font-mono text-xs text-slate-800">
      {children}
    </code>
  );
}

/** How a receiver checks that a request came from Tally and puts events in order. */
export function VerifyHelp() {
  return (
    <Card>
      <CardHeader title="How to verify" description="What your receiver should check." />
      <CardBody className="grid gap-6 text-sm text-slate-600 lg:grid-cols-2">
        <section className="min-w-0 space-y-2" aria-labelledby="verify-signature">
          <h3 id="verify-signature" className="font-medium text-slate-900">
            The signature
          </h3>
          <p>Every request carries this header, made with the endpoint&apos;s signing secret:</p>
          <CodeBlock>
            {'Tally-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">'}
          </CodeBlock>
          <p>
            Compute the HMAC over the raw body, before parsing it, compare in constant time, and
            refuse a <Code>t</Code> more than five minutes from your clock.{" "}
            <Code>Tally-Webhook-Id</Code> stays the same when a delivery is retried: use it to drop
            duplicates.
          </p>
        </section>
        <section className="min-w-0 space-y-2" aria-labelledby="verify-order">
          <h3 id="verify-order" className="font-medium text-slate-900">
            The order
          </h3>
          <p>
            Retries can deliver events out of order. Each payload carries <Code>sequence</Code>, its
            place in the workspace&apos;s event stream (it only grows, with gaps), and{" "}
            <Code>previous_sequence</Code>, that of the last event about the same{" "}
            <Code>object</Code> sent to this endpoint:
          </p>
          <ul className="list-disc space-y-1 pl-5">
            <li>
              Drop an event whose <Code>sequence</Code> is lower than one you already processed for
              the same object.
            </li>
            <li>
              If you have not seen its <Code>previous_sequence</Code>, an earlier event is still to
              come or was lost: wait for it, or fetch the object.
            </li>
          </ul>
          <p>
            A complete receiver is in the README, section{" "}
            <span className="font-medium text-slate-900">Outgoing webhooks</span>.
          </p>
        </section>
      </CardBody>
    </Card>
  );
}
