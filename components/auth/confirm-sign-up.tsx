"use client";

import { useMutation } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardBody } from "@/components/ui/card";
import { useTRPC } from "@/components/lib/trpc";

/**
 * Confirming takes a click, not just the page load: mail scanners open links
 * on their own, and an account must only be created by a person.
 */
export function ConfirmSignUp({ token }: { token: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const confirm = useMutation(
    trpc.auth.confirmSignUp.mutationOptions({
      onSuccess: ({ email }) =>
        router.replace(`/sign-in?confirmed=1&email=${encodeURIComponent(email)}`),
    }),
  );

  return (
    <Card>
      <CardBody className="space-y-5 px-6 py-8 text-center sm:px-8">
        <h1 className="text-xl font-semibold text-slate-900">Confirm your email</h1>
        <p className="text-sm text-slate-600">
          Confirming creates your Tally account with the password you chose.
        </p>
        {confirm.error && (
          <Alert tone="error" className="text-left">
            {confirm.error.message}{" "}
            <Link href="/sign-up" className="font-medium underline underline-offset-2">
              Sign up again
            </Link>
          </Alert>
        )}
        <Button
          className="w-full"
          disabled={!token}
          pending={confirm.isPending || confirm.isSuccess}
          pendingLabel="Confirming…"
          onClick={() => confirm.mutate({ token })}
        >
          Confirm my email
        </Button>
        {!token && <p className="text-sm text-red-600">This link has no token; open the link from the email again.</p>}
      </CardBody>
    </Card>
  );
}
