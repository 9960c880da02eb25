CREATE TYPE "public"."billing_adjustment_kind" AS ENUM('proration_credit', 'proration_charge', 'cancellation_refund');--> statement-breakpoint
CREATE TABLE "billing_adjustments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"currency" char(3) NOT NULL,
	"amount_minor" integer NOT NULL,
	"description" text NOT NULL,
	"kind" "billing_adjustment_kind" NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"period_end" timestamp with time zone NOT NULL,
	"source_event_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"invoiced_at" timestamp with time zone,
	CONSTRAINT "billing_adjustments_event_kind_unique" UNIQUE("source_event_id","kind")
);
--> statement-breakpoint
ALTER TABLE "billing_adjustments" ADD CONSTRAINT "billing_adjustments_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "billing_adjustments_open_idx" ON "billing_adjustments" USING btree ("workspace_id") WHERE "billing_adjustments"."invoiced_at" IS NULL;