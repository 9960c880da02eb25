ALTER TYPE "public"."reconciliation_drift_kind" ADD VALUE 'refund_not_at_gateway';--> statement-breakpoint
ALTER TYPE "public"."reconciliation_drift_kind" ADD VALUE 'dispute_not_at_gateway';