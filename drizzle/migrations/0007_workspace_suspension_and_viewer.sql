ALTER TYPE "public"."workspace_role" ADD VALUE 'viewer';--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "suspended_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "suspension_reason" text;