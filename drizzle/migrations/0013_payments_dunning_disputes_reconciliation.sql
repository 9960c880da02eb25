CREATE TYPE "public"."dispute_outcome" AS ENUM('open', 'won', 'lost');--> statement-breakpoint
CREATE TYPE "public"."reconciliation_drift_kind" AS ENUM('missing_grant', 'payment_without_invoice', 'refund_not_in_ledger', 'dispute_not_recorded', 'status_mismatch');--> statement-breakpoint
CREATE TYPE "public"."reconciliation_drift_status" AS ENUM('open', 'repaired', 'dismissed');--> statement-breakpoint
CREATE TYPE "public"."dunning_status" AS ENUM('retrying', 'exhausted', 'recovered', 'stopped');--> statement-breakpoint
CREATE TYPE "public"."payment_kind" AS ENUM('invoice', 'purchase');--> statement-breakpoint
CREATE TYPE "public"."payment_refund_status" AS ENUM('pending', 'succeeded', 'failed');--> statement-breakpoint
CREATE TYPE "public"."payment_status" AS ENUM('pending', 'processing', 'succeeded', 'failed');--> statement-breakpoint
CREATE TABLE "disputes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"gateway_dispute_id" text NOT NULL,
	"workspace_id" uuid NOT NULL,
	"payment_id" uuid NOT NULL,
	"charge_id" text,
	"amount_minor" integer NOT NULL,
	"currency" char(3) NOT NULL,
	"reason" text,
	"gateway_status" text NOT NULL,
	"outcome" "dispute_outcome" DEFAULT 'open' NOT NULL,
	"clawed_back_credits" integer DEFAULT 0 NOT NULL,
	"shortfall_credits" integer DEFAULT 0 NOT NULL,
	"reinstated_credits" integer DEFAULT 0 NOT NULL,
	"opened_at" timestamp with time zone NOT NULL,
	"closed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "disputes_gateway_dispute_id_unique" UNIQUE("gateway_dispute_id")
);
--> statement-breakpoint
CREATE TABLE "dunning_cases" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"invoice_id" uuid NOT NULL,
	"status" "dunning_status" DEFAULT 'retrying' NOT NULL,
	"retry_days" jsonb NOT NULL,
	"attempts" integer DEFAULT 1 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"last_failure_code" text,
	"last_failure_message" text,
	"warned_at" timestamp with time zone,
	"suspended_at" timestamp with time zone,
	"opened_at" timestamp with time zone NOT NULL,
	"closed_at" timestamp with time zone,
	"close_reason" text,
	CONSTRAINT "dunning_cases_invoice_id_unique" UNIQUE("invoice_id")
);
--> statement-breakpoint
CREATE TABLE "payment_refunds" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"payment_id" uuid NOT NULL,
	"origin" text NOT NULL,
	"credit_refund_id" uuid,
	"adjustment_id" uuid,
	"invoice_id" uuid,
	"gateway_refund_id" text,
	"amount_minor" integer NOT NULL,
	"currency" char(3) NOT NULL,
	"reason" text NOT NULL,
	"status" "payment_refund_status" DEFAULT 'pending' NOT NULL,
	"failure_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"settled_at" timestamp with time zone,
	CONSTRAINT "payment_refunds_credit_refund_id_unique" UNIQUE("credit_refund_id"),
	CONSTRAINT "payment_refunds_adjustment_id_unique" UNIQUE("adjustment_id"),
	CONSTRAINT "payment_refunds_gateway_refund_id_unique" UNIQUE("gateway_refund_id"),
	CONSTRAINT "payment_refunds_amount_positive" CHECK ("payment_refunds"."amount_minor" > 0)
);
--> statement-breakpoint
CREATE TABLE "payments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"kind" "payment_kind" NOT NULL,
	"invoice_id" uuid,
	"purchase_id" uuid,
	"gateway" text NOT NULL,
	"attempt" integer DEFAULT 1 NOT NULL,
	"trigger" text NOT NULL,
	"idempotency_key" text NOT NULL,
	"payment_intent_id" text,
	"charge_id" text,
	"status" "payment_status" DEFAULT 'pending' NOT NULL,
	"amount_minor" integer NOT NULL,
	"currency" char(3) NOT NULL,
	"amount_refunded_minor" integer DEFAULT 0 NOT NULL,
	"failure_code" text,
	"failure_message" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"settled_at" timestamp with time zone,
	CONSTRAINT "payments_idempotency_key_unique" UNIQUE("idempotency_key"),
	CONSTRAINT "payments_payment_intent_id_unique" UNIQUE("payment_intent_id"),
	CONSTRAINT "payments_amount_positive" CHECK ("payments"."amount_minor" > 0),
	CONSTRAINT "payments_refund_within_amount" CHECK ("payments"."amount_refunded_minor" between 0 and "payments"."amount_minor"),
	CONSTRAINT "payments_names_what_it_pays" CHECK (("payments"."kind" = 'invoice') = ("payments"."invoice_id" IS NOT NULL) AND ("payments"."kind" = 'purchase') = ("payments"."purchase_id" IS NOT NULL))
);
--> statement-breakpoint
CREATE TABLE "reconciliation_drifts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"run_id" uuid NOT NULL,
	"kind" "reconciliation_drift_kind" NOT NULL,
	"gateway_object_id" text NOT NULL,
	"workspace_id" uuid,
	"payment_id" uuid,
	"amount_minor" integer,
	"currency" char(3),
	"details" jsonb NOT NULL,
	"status" "reconciliation_drift_status" DEFAULT 'open' NOT NULL,
	"found_at" timestamp with time zone NOT NULL,
	"resolved_at" timestamp with time zone,
	"resolved_by" uuid,
	"resolution" text,
	CONSTRAINT "reconciliation_drifts_once" UNIQUE("kind","gateway_object_id")
);
--> statement-breakpoint
CREATE TABLE "reconciliation_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"gateway" text NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"window_end" timestamp with time zone NOT NULL,
	"checked" integer DEFAULT 0 NOT NULL,
	"drifts_found" integer DEFAULT 0 NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "amount_refunded_minor" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "disputes" ADD CONSTRAINT "disputes_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "disputes" ADD CONSTRAINT "disputes_payment_id_payments_id_fk" FOREIGN KEY ("payment_id") REFERENCES "public"."payments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dunning_cases" ADD CONSTRAINT "dunning_cases_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dunning_cases" ADD CONSTRAINT "dunning_cases_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "public"."invoices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_refunds" ADD CONSTRAINT "payment_refunds_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_refunds" ADD CONSTRAINT "payment_refunds_payment_id_payments_id_fk" FOREIGN KEY ("payment_id") REFERENCES "public"."payments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_refunds" ADD CONSTRAINT "payment_refunds_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "public"."invoices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "public"."invoices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_purchase_id_credit_purchases_id_fk" FOREIGN KEY ("purchase_id") REFERENCES "public"."credit_purchases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reconciliation_drifts" ADD CONSTRAINT "reconciliation_drifts_run_id_reconciliation_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."reconciliation_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reconciliation_drifts" ADD CONSTRAINT "reconciliation_drifts_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reconciliation_drifts" ADD CONSTRAINT "reconciliation_drifts_payment_id_payments_id_fk" FOREIGN KEY ("payment_id") REFERENCES "public"."payments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "disputes_workspace_idx" ON "disputes" USING btree ("workspace_id","opened_at");--> statement-breakpoint
CREATE INDEX "dunning_cases_due_idx" ON "dunning_cases" USING btree ("next_attempt_at") WHERE "dunning_cases"."status" = 'retrying';--> statement-breakpoint
CREATE INDEX "dunning_cases_workspace_idx" ON "dunning_cases" USING btree ("workspace_id","opened_at");--> statement-breakpoint
CREATE INDEX "payment_refunds_workspace_idx" ON "payment_refunds" USING btree ("workspace_id","created_at");--> statement-breakpoint
CREATE INDEX "payment_refunds_payment_idx" ON "payment_refunds" USING btree ("payment_id");--> statement-breakpoint
CREATE INDEX "payments_workspace_idx" ON "payments" USING btree ("workspace_id","created_at");--> statement-breakpoint
CREATE INDEX "payments_created_idx" ON "payments" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "payments_charge_idx" ON "payments" USING btree ("charge_id");--> statement-breakpoint
CREATE UNIQUE INDEX "payments_invoice_attempt" ON "payments" USING btree ("invoice_id","attempt");--> statement-breakpoint
CREATE UNIQUE INDEX "payments_one_per_purchase" ON "payments" USING btree ("purchase_id");--> statement-breakpoint
CREATE INDEX "reconciliation_drifts_status_idx" ON "reconciliation_drifts" USING btree ("status","found_at");--> statement-breakpoint
-- Purchases paid before payments were recorded become payment rows, so the admin lists and the reconciliation see them.
INSERT INTO "payments" ("workspace_id", "kind", "purchase_id", "gateway", "attempt", "trigger", "idempotency_key", "payment_intent_id", "status", "amount_minor", "currency", "amount_refunded_minor", "created_at", "settled_at")
SELECT "workspace_id", 'purchase', "id", "gateway", 1, "origin"::text, 'purchase:' || "id", "payment_intent_id", 'succeeded', "amount_minor", "currency", LEAST("refunded_minor", "amount_minor"), "created_at", COALESCE("paid_at", "created_at")
FROM "credit_purchases"
WHERE "status" = 'paid' AND "amount_minor" > 0;
