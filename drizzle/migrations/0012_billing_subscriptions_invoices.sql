CREATE TYPE "public"."billing_cycle_status" AS ENUM('started', 'usage_collected', 'invoiced', 'payment_requested', 'completed');--> statement-breakpoint
CREATE TYPE "public"."invoice_kind" AS ENUM('subscription', 'purchase', 'proration');--> statement-breakpoint
CREATE TYPE "public"."invoice_line_kind" AS ENUM('tier_fee', 'seats', 'overage', 'proration', 'purchase', 'discount', 'credit_applied', 'credit_carried_forward');--> statement-breakpoint
CREATE TYPE "public"."invoice_status" AS ENUM('draft', 'open', 'paid', 'void', 'uncollectible');--> statement-breakpoint
CREATE TYPE "public"."subscription_status" AS ENUM('trialing', 'active', 'past_due', 'suspended', 'cancelled');--> statement-breakpoint
ALTER TYPE "public"."billing_adjustment_kind" ADD VALUE 'seat_proration';--> statement-breakpoint
ALTER TYPE "public"."billing_adjustment_kind" ADD VALUE 'credit_carried_forward';--> statement-breakpoint
CREATE TABLE "billing_cycles" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"subscription_id" uuid NOT NULL,
	"workspace_id" uuid NOT NULL,
	"sequence" integer NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"period_end" timestamp with time zone NOT NULL,
	"status" "billing_cycle_status" DEFAULT 'started' NOT NULL,
	"tier_id" uuid NOT NULL,
	"next_tier_id" uuid,
	"overage_credits" integer,
	"seats" integer,
	"invoice_id" uuid,
	"started_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"completed_at" timestamp with time zone,
	CONSTRAINT "billing_cycles_subscription_sequence_unique" UNIQUE("subscription_id","sequence"),
	CONSTRAINT "billing_cycles_workspace_period_unique" UNIQUE("workspace_id","period_start")
);
--> statement-breakpoint
CREATE TABLE "clock_offsets" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"offset_ms" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "clock_offsets_single_row" CHECK ("clock_offsets"."id" = 1)
);
--> statement-breakpoint
CREATE TABLE "invoice_lines" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"invoice_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"kind" "invoice_line_kind" NOT NULL,
	"description" text NOT NULL,
	"quantity" integer DEFAULT 1 NOT NULL,
	"unit_amount_minor" integer,
	"amount_minor" integer NOT NULL,
	"rounding" text NOT NULL,
	"period_start" timestamp with time zone,
	"period_end" timestamp with time zone,
	"adjustment_id" uuid,
	CONSTRAINT "invoice_lines_adjustment_id_unique" UNIQUE("adjustment_id"),
	CONSTRAINT "invoice_lines_position_unique" UNIQUE("invoice_id","position")
);
--> statement-breakpoint
CREATE TABLE "invoice_numbers" (
	"year" integer NOT NULL,
	"last_number" integer NOT NULL,
	CONSTRAINT "invoice_numbers_year_pk" PRIMARY KEY("year")
);
--> statement-breakpoint
CREATE TABLE "invoices" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"kind" "invoice_kind" NOT NULL,
	"status" "invoice_status" DEFAULT 'draft' NOT NULL,
	"number" text,
	"currency" char(3) NOT NULL,
	"cycle_id" uuid,
	"purchase_id" uuid,
	"source_key" text,
	"period_start" timestamp with time zone,
	"period_end" timestamp with time zone,
	"subtotal_minor" integer DEFAULT 0 NOT NULL,
	"discount_minor" integer DEFAULT 0 NOT NULL,
	"tax_rate_bps" integer DEFAULT 0 NOT NULL,
	"tax_minor" integer DEFAULT 0 NOT NULL,
	"total_minor" integer DEFAULT 0 NOT NULL,
	"amount_due_minor" integer DEFAULT 0 NOT NULL,
	"amount_paid_minor" integer DEFAULT 0 NOT NULL,
	"seller" jsonb,
	"buyer" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finalized_at" timestamp with time zone,
	"due_at" timestamp with time zone,
	"paid_at" timestamp with time zone,
	"voided_at" timestamp with time zone,
	"void_reason" text,
	"uncollectible_at" timestamp with time zone,
	CONSTRAINT "invoices_number_unique" UNIQUE("number"),
	CONSTRAINT "invoices_cycle_id_unique" UNIQUE("cycle_id"),
	CONSTRAINT "invoices_purchase_id_unique" UNIQUE("purchase_id"),
	CONSTRAINT "invoices_source_key_unique" UNIQUE("source_key"),
	CONSTRAINT "invoices_number_when_final" CHECK (("invoices"."status" = 'draft') = ("invoices"."number" IS NULL))
);
--> statement-breakpoint
CREATE TABLE "subscriptions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"status" "subscription_status" DEFAULT 'active' NOT NULL,
	"currency" char(3) NOT NULL,
	"anchor_at" timestamp with time zone NOT NULL,
	"period_sequence" integer DEFAULT 1 NOT NULL,
	"current_period_start" timestamp with time zone NOT NULL,
	"current_period_end" timestamp with time zone NOT NULL,
	"seats" integer DEFAULT 1 NOT NULL,
	"payment_method_ref" text,
	"payment_method_label" text,
	"trial_ends_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "subscriptions_workspace_id_unique" UNIQUE("workspace_id"),
	CONSTRAINT "subscriptions_period_order" CHECK ("subscriptions"."current_period_start" < "subscriptions"."current_period_end")
);
--> statement-breakpoint
ALTER TABLE "billing_adjustments" ADD COLUMN "invoice_id" uuid;--> statement-breakpoint
ALTER TABLE "billing_cycles" ADD CONSTRAINT "billing_cycles_subscription_id_subscriptions_id_fk" FOREIGN KEY ("subscription_id") REFERENCES "public"."subscriptions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "billing_cycles" ADD CONSTRAINT "billing_cycles_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "billing_cycles" ADD CONSTRAINT "billing_cycles_tier_id_tiers_id_fk" FOREIGN KEY ("tier_id") REFERENCES "public"."tiers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "billing_cycles" ADD CONSTRAINT "billing_cycles_next_tier_id_tiers_id_fk" FOREIGN KEY ("next_tier_id") REFERENCES "public"."tiers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoice_lines" ADD CONSTRAINT "invoice_lines_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "public"."invoices"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "billing_cycles_unfinished_idx" ON "billing_cycles" USING btree ("updated_at") WHERE "billing_cycles"."status" <> 'completed';--> statement-breakpoint
CREATE INDEX "invoices_workspace_idx" ON "invoices" USING btree ("workspace_id","created_at");--> statement-breakpoint
CREATE INDEX "invoices_status_idx" ON "invoices" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "subscriptions_period_end_idx" ON "subscriptions" USING btree ("current_period_end");--> statement-breakpoint
-- Every workspace that exists gets its subscription, on the periods its credits already run in
-- (or its first period, when its credits have not been allocated yet).
INSERT INTO "subscriptions" ("workspace_id", "status", "currency", "anchor_at", "period_sequence", "current_period_start", "current_period_end", "seats")
SELECT w."id",
	(CASE w."status" WHEN 'active' THEN 'active' WHEN 'suspended' THEN 'suspended' ELSE 'cancelled' END)::"subscription_status",
	t."currency",
	w."created_at",
	COALESCE(p."sequence", 1),
	COALESCE(p."starts_at", w."created_at"),
	COALESCE(p."ends_at", w."created_at" + interval '1 month'),
	GREATEST(1, (SELECT count(*) FROM "workspace_members" m WHERE m."workspace_id" = w."id"))
FROM "workspaces" w
JOIN "tiers" t ON t."id" = w."tier_id"
LEFT JOIN LATERAL (
	SELECT cp."sequence", cp."starts_at", cp."ends_at" FROM "credit_periods" cp
	WHERE cp."workspace_id" = w."id"
	ORDER BY (cp."status" = 'open') DESC, cp."sequence" DESC
	LIMIT 1
) p ON true
ON CONFLICT ("workspace_id") DO NOTHING;
