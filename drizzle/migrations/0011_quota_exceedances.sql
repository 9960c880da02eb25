CREATE TABLE "quota_exceedances" (
	"workspace_id" uuid NOT NULL,
	"feature_code" text NOT NULL,
	"period" text NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"max_calls" integer NOT NULL,
	"used" integer NOT NULL,
	"event_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "quota_exceedances_workspace_id_feature_code_period_period_start_pk" PRIMARY KEY("workspace_id","feature_code","period","period_start")
);
--> statement-breakpoint
ALTER TABLE "quota_exceedances" ADD CONSTRAINT "quota_exceedances_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;