"use client";

import { useMutation } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardBody } from "@/components/ui/card";
import { Field, describedBy } from "@/components/ui/field";
import { Input } from "@/components/ui/input";
import { formErrorsOf, noErrors, type FormErrors } from "@/components/lib/form-errors";
import { useTRPC } from "@/components/lib/trpc";

const fields = ["name", "email", "password"] as const;
type SignUpField = (typeof fields)[number];

/**
 * `callbackUrl` is where to come back to after the emailed link is followed
 * and the user signs in (an invitation page); the server keeps only same-site
 * paths.
 */
export function SignUpForm({
  callbackUrl,
  initialEmail,
}: {
  callbackUrl?: string;
  initialEmail?: string;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const signUp = useMutation(trpc.auth.signUp.mutationOptions());
  const [errors, setErrors] = useState<FormErrors<SignUpField>>(noErrors);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const input = {
      name: String(form.get("name") ?? ""),
      email: String(form.get("email") ?? ""),
      password: String(form.get("password") ?? ""),
      callbackUrl,
    };
    setErrors(noErrors);
    try {
      const { email } = await signUp.mutateAsync(input);
      // The account exists once the emailed link is followed; the next page says so.
      router.push(`/sign-in/check-email?kind=sign-up&email=${encodeURIComponent(email)}`);
    } catch (error) {
      setErrors(formErrorsOf(error, fields));
    }
  }

  const pending = signUp.isPending || signUp.isSuccess;

  return (
    <Card>
      <CardBody className="space-y-6 px-6 py-8 sm:px-8">
        <div>
          <h1 className="text-xl font-semibold text-slate-900">Create your Tally account</h1>
          <p className="mt-1 text-sm text-slate-500">
            Already have one?{" "}
            <Link
              href={
                callbackUrl ? `/sign-in?callbackUrl=${encodeURIComponent(callbackUrl)}` : "/sign-in"
              }
              className="font-medium text-indigo-600 hover:text-indigo-500"
            >
              Sign in
            </Link>
          </p>
        </div>
        <form method="post" onSubmit={submit} className="space-y-4" noValidate>
          {errors.form && <Alert tone="error">{errors.form}</Alert>}
          <Field id="sign-up-name" label="Name" error={errors.fields.name}>
            <Input
              id="sign-up-name"
              name="name"
              autoComplete="name"
              invalid={Boolean(errors.fields.name)}
              aria-describedby={describedBy("sign-up-name", errors.fields.name)}
            />
          </Field>
          <Field id="sign-up-email" label="Email" error={errors.fields.email}>
            <Input
              id="sign-up-email"
              name="email"
              type="email"
              autoComplete="email"
              defaultValue={initialEmail}
              invalid={Boolean(errors.fields.email)}
              aria-describedby={describedBy("sign-up-email", errors.fields.email)}
            />
          </Field>
          <Field
            id="sign-up-password"
            label="Password"
            hint="At least 8 characters."
            error={errors.fields.password}
          >
            <Input
              id="sign-up-password"
              name="password"
              type="password"
              autoComplete="new-password"
              invalid={Boolean(errors.fields.password)}
              aria-describedby={describedBy("sign-up-password", errors.fields.password, true)}
            />
          </Field>
          <Button
            type="submit"
            pending={pending}
            pendingLabel="Sending the confirmation link…"
            className="w-full"
          >
            Create account
          </Button>
        </form>
      </CardBody>
    </Card>
  );
}
