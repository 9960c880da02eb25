ALTER TABLE "outbox" ADD COLUMN "object_type" text;--> statement-breakpoint
ALTER TABLE "outbox" ADD COLUMN "object_id" text;--> statement-breakpoint
CREATE INDEX "outbox_object_idx" ON "outbox" USING btree ("stream_id","object_type","object_id","stream_seq");