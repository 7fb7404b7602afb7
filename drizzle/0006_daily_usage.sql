CREATE TABLE "daily_usage" (
	"user_id" text NOT NULL,
	"day" date NOT NULL,
	"used_tokens" integer DEFAULT 0 NOT NULL,
	"reserved_tokens" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "daily_usage_user_id_day_pk" PRIMARY KEY("user_id","day"),
	CONSTRAINT "daily_usage_reserved_non_negative" CHECK ("daily_usage"."reserved_tokens" >= 0)
);
--> statement-breakpoint
ALTER TABLE "daily_usage" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "turn_reservations" (
	"turn_id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"day" date NOT NULL,
	"tokens" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "turn_reservations" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE INDEX "turn_reservations_user_id_idx" ON "turn_reservations" USING btree ("user_id");--> statement-breakpoint
-- The daily budget's tables hold user data like the others: the same roles, grants and policies as 0005.
GRANT SELECT, INSERT, UPDATE, DELETE ON "daily_usage", "turn_reservations" TO fixthread_app, fixthread_maintenance;
--> statement-breakpoint
GRANT SELECT ON "daily_usage", "turn_reservations" TO fixthread_reporting;
--> statement-breakpoint
ALTER TABLE "daily_usage" FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY "daily_usage_own_rows" ON "daily_usage" AS PERMISSIVE FOR ALL TO fixthread_app USING (user_id = (select nullif(current_setting('app.user_id', true), ''))) WITH CHECK (user_id = (select nullif(current_setting('app.user_id', true), '')));
--> statement-breakpoint
CREATE POLICY "daily_usage_maintenance" ON "daily_usage" AS PERMISSIVE FOR ALL TO fixthread_maintenance USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY "daily_usage_reporting" ON "daily_usage" AS PERMISSIVE FOR SELECT TO fixthread_reporting USING (true);
--> statement-breakpoint
ALTER TABLE "turn_reservations" FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY "turn_reservations_own_rows" ON "turn_reservations" AS PERMISSIVE FOR ALL TO fixthread_app USING (user_id = (select nullif(current_setting('app.user_id', true), ''))) WITH CHECK (user_id = (select nullif(current_setting('app.user_id', true), '')));
--> statement-breakpoint
CREATE POLICY "turn_reservations_maintenance" ON "turn_reservations" AS PERMISSIVE FOR ALL TO fixthread_maintenance USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY "turn_reservations_reporting" ON "turn_reservations" AS PERMISSIVE FOR SELECT TO fixthread_reporting USING (true);
