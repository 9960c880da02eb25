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

const fields = ["password", "token"] as const;

/**
 * Confirming takes the password chosen at sign-up and a click, not just the
 * page load: mail scanners open links on their own, and someone else may
 * have signed up with the same address.
 */
export function ConfirmSignUp({ token, callbackUrl }: { token: string; callbackUrl: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [errors, setErrors] = useState<FormErrors<(typeof fields)[number]>>(noErrors);
  const confirm = useMutation(trpc.auth.confirmSignUp.mutationOptions());

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setErrors(noErrors);
    const password = String(new FormData(event.currentTarget).get("password") ?? "");
    try {
      const { email } = await confirm.mutateAsync({ token, password });
      const back = callbackUrl === "/" ? "" : `&callbackUrl=${encodeURIComponent(callbackUrl)}`;
      router.replace(`/sign-in?confirmed=1&email=${encodeURIComponent(email)}${back}`);
    } catch (error) {
      setErrors(formErrorsOf(error, fields));
    }
  }

  const linkProblem =
    errors.fields.token ??
    (!token ? "This link has no token; open the link from the email again." : undefined);

  return (
    <Card>
      <CardBody className="space-y-5 px-6 py-8 sm:px-8">
        <div className="text-center">
          <h1 className="text-xl font-semibold text-slate-900">Confirm your email</h1>
          <p className="mt-1 text-sm text-slate-600">
            Enter the password you chose when you signed up to create your account.
          </p>
        </div>
        {linkProblem && (
          <Alert tone="error">
            {linkProblem}{" "}
            <Link
              href={confirm.error?.data?.appCode === "conflict" ? "/sign-in" : "/sign-up"}
              className="font-medium underline underline-offset-2"
            >
              {confirm.error?.data?.appCode === "conflict" ? "Sign in" : "Sign up again"}
            </Link>
          </Alert>
        )}
        {errors.form && <Alert tone="error">{errors.form}</Alert>}
        <form method="post" onSubmit={submit} className="space-y-4" noValidate>
          <Field id="confirm-password" label="Password" error={errors.fields.password}>
            <Input
              id="confirm-password"
              name="password"
              type="password"
              autoComplete="current-password"
              required
              invalid={Boolean(errors.fields.password)}
              aria-describedby={describedBy("confirm-password", errors.fields.password)}
            />
          </Field>
          <Button
            type="submit"
            className="w-full"
            disabled={!token}
            pending={confirm.isPending || confirm.isSuccess}
            pendingLabel="Confirming…"
          >
            Confirm my email
          </Button>
        </form>
      </CardBody>
    </Card>
  );
}
