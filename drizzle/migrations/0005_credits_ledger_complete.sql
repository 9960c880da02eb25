CREATE TYPE "public"."hold_status" AS ENUM('active', 'finalized', 'released', 'expired');--> statement-breakpoint
CREATE TYPE "public"."credit_period_status" AS ENUM('open', 'closed');--> statement-breakpoint
CREATE TYPE "public"."credit_purchase_origin" AS ENUM('checkout', 'auto_top_up');--> statement-breakpoint
CREATE TYPE "public"."credit_purchase_status" AS ENUM('pending', 'paid', 'failed', 'cancelled');--> statement-breakpoint
CREATE TYPE "public"."credit_refund_status" AS ENUM('pending', 'succeeded', 'failed');--> statement-breakpoint
ALTER TYPE "public"."ledger_entry_kind" ADD VALUE 'hold' BEFORE 'refund';--> statement-breakpoint
ALTER TYPE "public"."ledger_entry_kind" ADD VALUE 'release' BEFORE 'refund';--> statement-breakpoint
ALTER TYPE "public"."ledger_entry_kind" ADD VALUE 'transfer' BEFORE 'refund';--> statement-breakpoint
ALTER TYPE "public"."ledger_entry_kind" ADD VALUE 'rollover' BEFORE 'refund';--> statement-breakpoint
CREATE TABLE "auto_top_ups" (
	"workspace_id" uuid PRIMARY KEY NOT NULL,
	"enabled" boolean DEFAULT false NOT NULL,
	"pack_id" uuid NOT NULL,
	"threshold_credits" integer NOT NULL,
	"monthly_limit" integer NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "credit_holds" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"amount" integer NOT NULL,
	"status" "hold_status" DEFAULT 'active' NOT NULL,
	"final_amount" integer,
	"feature_code" text,
	"idempotency_key" text,
	"request_hash" text NOT NULL,
	"api_key_id" uuid,
	"user_id" uuid,
	"expires_at" timestamp with time zone NOT NULL,
	"settled_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "credit_holds_workspace_key_unique" UNIQUE("workspace_id","idempotency_key"),
	CONSTRAINT "credit_holds_amount_positive" CHECK ("credit_holds"."amount" > 0)
);
--> statement-breakpoint
CREATE TABLE "credit_packs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"credits" integer NOT NULL,
	"price_minor" integer NOT NULL,
	"currency" char(3) NOT NULL,
	"archived_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "credit_packs_credits_positive" CHECK ("credit_packs"."credits" > 0),
	CONSTRAINT "credit_packs_price_positive" CHECK ("credit_packs"."price_minor" > 0)
);
--> statement-breakpoint
CREATE TABLE "credit_periods" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"anchor_at" timestamp with time zone NOT NULL,
	"sequence" integer NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"allowance" integer NOT NULL,
	"status" "credit_period_status" DEFAULT 'open' NOT NULL,
	"rolled_over_credits" integer,
	"closed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "credit_periods_workspace_sequence_unique" UNIQUE("workspace_id","sequence")
);
--> statement-breakpoint
CREATE TABLE "credit_purchases" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"pack_id" uuid NOT NULL,
	"credits" integer NOT NULL,
	"amount_minor" integer NOT NULL,
	"currency" char(3) NOT NULL,
	"origin" "credit_purchase_origin" NOT NULL,
	"status" "credit_purchase_status" DEFAULT 'pending' NOT NULL,
	"gateway" text NOT NULL,
	"checkout_session_id" text,
	"checkout_url" text,
	"payment_intent_id" text,
	"grant_id" uuid,
	"failure_reason" text,
	"refunded_credits" integer DEFAULT 0 NOT NULL,
	"refunded_minor" integer DEFAULT 0 NOT NULL,
	"user_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"paid_at" timestamp with time zone,
	CONSTRAINT "credit_purchases_checkout_session_id_unique" UNIQUE("checkout_session_id"),
	CONSTRAINT "credit_purchases_payment_intent_id_unique" UNIQUE("payment_intent_id")
);
--> statement-breakpoint
CREATE TABLE "credit_refunds" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"purchase_id" uuid NOT NULL,
	"credits" integer NOT NULL,
	"amount_minor" integer NOT NULL,
	"currency" char(3) NOT NULL,
	"reason" text NOT NULL,
	"status" "credit_refund_status" DEFAULT 'pending' NOT NULL,
	"gateway_refund_id" text,
	"failure_reason" text,
	"user_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"settled_at" timestamp with time zone,
	CONSTRAINT "credit_refunds_gateway_refund_id_unique" UNIQUE("gateway_refund_id")
);
--> statement-breakpoint
CREATE TABLE "credit_transfers" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"from_workspace_id" uuid NOT NULL,
	"to_workspace_id" uuid NOT NULL,
	"credits" integer NOT NULL,
	"reason" text NOT NULL,
	"user_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "overage_records" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"usage_record_id" uuid NOT NULL,
	"credits" integer NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "simulated_objects" (
	"id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"idempotency_key" text,
	"data" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "simulated_objects_idempotency_key_unique" UNIQUE("idempotency_key")
);
--> statement-breakpoint
ALTER TABLE "credit_balances" ADD COLUMN "top_up_threshold" integer;--> statement-breakpoint
ALTER TABLE "credit_balances" ADD COLUMN "below_top_up" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "credit_grants" ADD COLUMN "purchase_id" uuid;--> statement-breakpoint
ALTER TABLE "credit_grants" ADD COLUMN "period_id" uuid;--> statement-breakpoint
ALTER TABLE "credit_ledger_entries" ADD COLUMN "hold_id" uuid;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "scopes" text[] DEFAULT ARRAY['usage:write','balance:read'] NOT NULL;--> statement-breakpoint
ALTER TABLE "tiers" ADD COLUMN "overage_cap_credits" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "tiers" ADD COLUMN "overage_unit_credits" integer DEFAULT 1000 NOT NULL;--> statement-breakpoint
ALTER TABLE "tiers" ADD COLUMN "overage_unit_price_minor" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "tiers" ADD COLUMN "rollover_cap_credits" integer;--> statement-breakpoint
ALTER TABLE "tiers" ADD COLUMN "rollover_cap_percent" integer;--> statement-breakpoint
ALTER TABLE "tiers" ADD COLUMN "rollover_expiry_periods" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "auto_top_ups" ADD CONSTRAINT "auto_top_ups_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "auto_top_ups" ADD CONSTRAINT "auto_top_ups_pack_id_credit_packs_id_fk" FOREIGN KEY ("pack_id") REFERENCES "public"."credit_packs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_holds" ADD CONSTRAINT "credit_holds_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_periods" ADD CONSTRAINT "credit_periods_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_purchases" ADD CONSTRAINT "credit_purchases_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_purchases" ADD CONSTRAINT "credit_purchases_pack_id_credit_packs_id_fk" FOREIGN KEY ("pack_id") REFERENCES "public"."credit_packs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_refunds" ADD CONSTRAINT "credit_refunds_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_refunds" ADD CONSTRAINT "credit_refunds_purchase_id_credit_purchases_id_fk" FOREIGN KEY ("purchase_id") REFERENCES "public"."credit_purchases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_transfers" ADD CONSTRAINT "credit_transfers_from_workspace_id_workspaces_id_fk" FOREIGN KEY ("from_workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_transfers" ADD CONSTRAINT "credit_transfers_to_workspace_id_workspaces_id_fk" FOREIGN KEY ("to_workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "overage_records" ADD CONSTRAINT "overage_records_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "credit_holds_due_idx" ON "credit_holds" USING btree ("expires_at") WHERE "credit_holds"."status" = 'active';--> statement-breakpoint
CREATE INDEX "credit_periods_due_idx" ON "credit_periods" USING btree ("ends_at") WHERE "credit_periods"."status" = 'open';--> statement-breakpoint
CREATE INDEX "credit_purchases_workspace_idx" ON "credit_purchases" USING btree ("workspace_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "credit_purchases_one_top_up_in_flight" ON "credit_purchases" USING btree ("workspace_id") WHERE "credit_purchases"."origin" = 'auto_top_up' AND "credit_purchases"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "credit_refunds_purchase_idx" ON "credit_refunds" USING btree ("purchase_id");--> statement-breakpoint
CREATE INDEX "overage_records_period_idx" ON "overage_records" USING btree ("workspace_id","period_start");--> statement-breakpoint
-- Workspaces created before allocation periods existed open their first period at creation.
INSERT INTO "credit_periods" ("workspace_id", "anchor_at", "sequence", "starts_at", "ends_at", "allowance", "created_at")
SELECT w."id", w."created_at", 1, w."created_at", w."created_at" + interval '1 month', t."monthly_credits", w."created_at"
FROM "workspaces" w JOIN "tiers" t ON t."id" = w."tier_id"
WHERE NOT EXISTS (SELECT 1 FROM "credit_periods" p WHERE p."workspace_id" = w."id");
--> statement-breakpoint
-- Their first allowance belongs to that period and expires with it, as new workspaces' do.
UPDATE "credit_grants" g SET "period_id" = p."id", "expires_at" = p."ends_at"
FROM "credit_periods" p
WHERE p."workspace_id" = g."workspace_id" AND p."sequence" = 1
  AND g."source" = 'tier_allocation' AND g."period_id" IS NULL AND g."expires_at" IS NULL
  AND g."idempotency_key" LIKE 'tier-allocation:initial:%';
