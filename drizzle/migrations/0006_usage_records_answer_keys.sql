ALTER TABLE "usage_records" ADD COLUMN "balance_after" integer;--> statement-breakpoint
ALTER TABLE "usage_records" ADD COLUMN "overage_credits" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_records" ADD COLUMN "hold_id" uuid;--> statement-breakpoint
-- Rows that record a hold's finalization say which hold, so they never answer a consumption's key.
UPDATE "usage_records" u SET "hold_id" = h."id"
FROM "credit_holds" h
WHERE h."workspace_id" = u."workspace_id" AND h."idempotency_key" = u."idempotency_key"
  AND h."status" = 'finalized' AND u."units" = 0 AND u."input_bytes" = 0;
--> statement-breakpoint
-- Consumptions' stored answers move from idempotency_keys onto their usage records.
UPDATE "usage_records" u
SET "balance_after" = (k."response_body"->>'balance')::int
FROM "idempotency_keys" k
WHERE k."scope" = 'credits.consume' AND k."workspace_id" = u."workspace_id"
  AND k."key" = u."idempotency_key" AND (k."response_body"->>'usageRecordId')::uuid = u."id";
--> statement-breakpoint
UPDATE "usage_records" u SET "overage_credits" = o."credits"
FROM "overage_records" o WHERE o."usage_record_id" = u."id";
--> statement-breakpoint
DELETE FROM "idempotency_keys" WHERE "scope" = 'credits.consume';
--> statement-breakpoint
CREATE INDEX "usage_records_idempotency_idx" ON "usage_records" USING btree ("workspace_id","idempotency_key") WHERE "usage_records"."idempotency_key" IS NOT NULL AND "usage_records"."hold_id" IS NULL;