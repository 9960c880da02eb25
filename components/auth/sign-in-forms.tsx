"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { signIn } from "next-auth/react";
import { useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardBody } from "@/components/ui/card";
import { Field, describedBy } from "@/components/ui/field";
import { Input } from "@/components/ui/input";
import { authErrorMessage } from "@/components/lib/callback-url";

interface Props {
  callbackUrl: string;
  /** Set right after a sign-up was confirmed: the email to sign in with. */
  confirmedEmail?: string;
  initialError?: string;
  oauth: { id: string; name: string }[];
  devMailbox: boolean;
}

export function SignInForms({
  callbackUrl,
  confirmedEmail,
  initialError,
  oauth,
  devMailbox,
}: Props) {
  return (
    <div className="space-y-6">
      <Card>
        <CardBody className="space-y-6 px-6 py-8 sm:px-8">
          <div>
            <h1 className="text-xl font-semibold text-slate-900">Sign in to Tally</h1>
            <p className="mt-1 text-sm text-slate-500">
              New here?{" "}
              <Link
                href={
                  callbackUrl === "/"
                    ? "/sign-up"
                    : `/sign-up?callbackUrl=${encodeURIComponent(callbackUrl)}`
                }
                className="font-medium text-indigo-600 hover:text-indigo-500"
              >
                Create an account
              </Link>
            </p>
          </div>
          {confirmedEmail && (
            <Alert tone="success">Your email is confirmed. Sign in with your password.</Alert>
          )}
          <PasswordForm
            callbackUrl={callbackUrl}
            initialEmail={confirmedEmail}
            initialError={initialError}
          />
          {oauth.length > 0 && <OAuthButtons providers={oauth} callbackUrl={callbackUrl} />}
        </CardBody>
      </Card>
      <Card>
        <CardBody className="space-y-4 px-6 py-6 sm:px-8">
          <MagicLinkForm callbackUrl={callbackUrl} />
          {devMailbox && (
            <p className="text-xs text-slate-500">
              No email server is configured: the email lands in the{" "}
              <Link
                href="/dev/mailbox"
                className="font-medium text-indigo-600 hover:text-indigo-500"
              >
                dev mailbox
              </Link>
              .
            </p>
          )}
        </CardBody>
      </Card>
    </div>
  );
}

function PasswordForm({
  callbackUrl,
  initialEmail,
  initialError,
}: {
  callbackUrl: string;
  initialEmail?: string;
  initialError?: string;
}) {
  const router = useRouter();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState(initialError);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    setError(undefined);
    try {
      const result = await signIn("credentials", {
        email: String(form.get("email") ?? ""),
        password: String(form.get("password") ?? ""),
        redirect: false,
      });
      if (!result || result.error) {
        setError(authErrorMessage(result?.error ?? "CredentialsSignin"));
        setPending(false);
        return;
      }
      router.replace(callbackUrl);
      router.refresh();
    } catch {
      setError("Could not reach the server; check your connection and try again.");
      setPending(false);
    }
  }

  return (
    <form method="post" onSubmit={submit} className="space-y-4">
      {error && <Alert tone="error">{error}</Alert>}
      <Field id="sign-in-email" label="Email">
        <Input
          id="sign-in-email"
          name="email"
          type="email"
          autoComplete="email"
          defaultValue={initialEmail}
          required
          invalid={Boolean(error)}
        />
      </Field>
      <Field id="sign-in-password" label="Password">
        <Input
          id="sign-in-password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          invalid={Boolean(error)}
        />
      </Field>
      <Button type="submit" pending={pending} pendingLabel="Signing in…" className="w-full">
        Sign in
      </Button>
    </form>
  );
}

function MagicLinkForm({ callbackUrl }: { callbackUrl: string }) {
  const router = useRouter();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string>();

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const email = String(new FormData(event.currentTarget).get("email") ?? "").trim();
    setPending(true);
    setError(undefined);
    try {
      const result = await signIn("email", { email, redirect: false, redirectTo: callbackUrl });
      if (!result || result.error) {
        setError(authErrorMessage(result?.error ?? "EmailSignin"));
        setPending(false);
        return;
      }
      router.push(`/sign-in/check-email?email=${encodeURIComponent(email)}`);
    } catch {
      setError("Could not reach the server; check your connection and try again.");
      setPending(false);
    }
  }

  return (
    <form method="post" onSubmit={submit} className="space-y-3">
      <div>
        <h2 className="text-sm font-semibold text-slate-900">Email me a sign-in link</h2>
        <p className="mt-0.5 text-xs text-slate-500">No password needed: the link signs you in.</p>
      </div>
      <Field id="magic-link-email" label="Email for the link" error={error}>
        <div className="flex gap-2">
          <Input
            id="magic-link-email"
            name="email"
            type="email"
            autoComplete="email"
            required
            invalid={Boolean(error)}
            aria-describedby={describedBy("magic-link-email", error)}
          />
          <Button type="submit" variant="secondary" pending={pending}>
            Send link
          </Button>
        </div>
      </Field>
    </form>
  );
}

function OAuthButtons({
  providers,
  callbackUrl,
}: {
  providers: { id: string; name: string }[];
  callbackUrl: string;
}) {
  const [pending, setPending] = useState<string>();

  return (
    <div className="space-y-3">
      <div className="flex items-center gap-3 text-xs text-slate-400">
        <span className="h-px flex-1 bg-slate-200" />
        or
        <span className="h-px flex-1 bg-slate-200" />
      </div>
      {providers.map((provider) => (
        <Button
          key={provider.id}
          variant="secondary"
          className="w-full"
          pending={pending === provider.id}
          disabled={pending !== undefined}
          onClick={() => {
            setPending(provider.id);
            void signIn(provider.id, { redirectTo: callbackUrl });
          }}
        >
          Continue with {provider.name}
        </Button>
      ))}
    </div>
  );
}
