-- Row-level security: the database, not each query's WHERE, keeps a user to their own rows.
--
-- Three roles, all NOLOGIN (connect as the owner or a superuser, then switch):
--   fixthread_app          the app's queries, per transaction: set_config('role', 'fixthread_app', true) with
--                          set_config('app.user_id', <user>, true). Sees and changes only that user's rows.
--   fixthread_maintenance  the few jobs that span users (lease renewal, crash recovery, pruning, the unsent-photo
--                          sweep): every row, through policies of its own rather than BYPASSRLS.
--   fixthread_reporting    operators' read-only queries (the design note's): SET ROLE fixthread_reporting.
-- Policies name these roles, so creating them needs no superuser (BYPASSRLS would), and the owner itself is
-- confined too (FORCE). Superusers bypass RLS always: psql as postgres still sees everything.
--
-- Roles are cluster-wide while each database migrates on its own (tests migrate many at once in one cluster),
-- so creating them is idempotent and tolerates another database creating them at the same moment.
DO $$
DECLARE
  role_name text;
BEGIN
  FOREACH role_name IN ARRAY ARRAY['fixthread_app', 'fixthread_maintenance', 'fixthread_reporting'] LOOP
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = role_name) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN NOBYPASSRLS', role_name);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;
      END;
    END IF;
    -- SET ROLE needs membership; a superuser has it already, an owning role is granted it.
    IF NOT pg_has_role(current_user, role_name, 'MEMBER') THEN
      BEGIN
        EXECUTE format('GRANT %I TO %I', role_name, current_user);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;
      END;
    END IF;
  END LOOP;
END $$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO fixthread_app, fixthread_maintenance, fixthread_reporting;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON "conversations", "user_usage", "tool_calls", "threads", "turns", "turn_events", "usage_ledger", "attachments" TO fixthread_app, fixthread_maintenance;
--> statement-breakpoint
GRANT SELECT ON "conversations", "user_usage", "tool_calls", "threads", "turns", "turn_events", "usage_ledger", "attachments" TO fixthread_reporting;
--> statement-breakpoint
GRANT USAGE ON SEQUENCE "conversations_id_seq", "tool_calls_id_seq", "usage_ledger_id_seq" TO fixthread_app, fixthread_maintenance;
--> statement-breakpoint
-- The one policy column that had no index (every other leads an index already).
CREATE INDEX "tool_calls_user_id_idx" ON "tool_calls" USING btree ("user_id");
--> statement-breakpoint
ALTER TABLE "conversations" ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "conversations" FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY "conversations_own_rows" ON "conversations" AS PERMISSIVE FOR ALL TO fixthread_app USING (user_id = (select nullif(current_setting('app.user_id', true), ''))) WITH CHECK (user_id = (select nullif(current_setting('app.user_id', true), '')));
--> statement-breakpoint
CREATE POLICY "conversations_maintenance" ON "conversations" AS PERMISSIVE FOR ALL TO fixthread_maintenance USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY "conversations_reporting" ON "conversations" AS PERMISSIVE FOR SELECT TO fixthread_reporting USING (true);
--> statement-breakpoint
ALTER TABLE "user_usage" ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "user_usage" FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY "user_usage_own_rows" ON "user_usage" AS PERMISSIVE FOR ALL TO fixthread_app USING (user_id = (select nullif(current_setting('app.user_id', true), ''))) WITH CHECK (user_id = (select nullif(current_setting('app.user_id', true), '')));
--> statement-breakpoint
CREATE POLICY "user_usage_maintenance" ON "user_usage" AS PERMISSIVE FOR ALL TO fixthread_maintenance USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY "user_usage_reporting" ON "user_usage" AS PERMISSIVE FOR SELECT TO fixthread_reporting USING (true);
--> statement-breakpoint
ALTER TABLE "tool_calls" ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "tool_calls" FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY "tool_calls_own_rows" ON "tool_calls" AS PERMISSIVE FOR ALL TO fixthread_app USING (user_id = (select nullif(current_setting('app.user_id', true), ''))) WITH CHECK (user_id = (select nullif(current_setting('app.user_id', true), '')));
--> statement-breakpoint
CREATE POLICY "tool_calls_maintenance" ON "tool_calls" AS PERMISSIVE FOR ALL TO fixthread_maintenance USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY "tool_calls_reporting" ON "tool_calls" AS PERMISSIVE FOR SELECT TO fixthread_reporting USING (true);
--> statement-breakpoint
ALTER TABLE "threads" ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "threads" FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY "threads_own_rows" ON "threads" AS PERMISSIVE FOR ALL TO fixthread_app USING (user_id = (select nullif(current_setting('app.user_id', true), ''))) WITH CHECK (user_id = (select nullif(current_setting('app.user_id', true), '')));
--> statement-breakpoint
CREATE POLICY "threads_maintenance" ON "threads" AS PERMISSIVE FOR ALL TO fixthread_maintenance USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY "threads_reporting" ON "threads" AS PERMISSIVE FOR SELECT TO fixthread_reporting USING (true);
--> statement-breakpoint
ALTER TABLE "turns" ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "turns" FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY "turns_own_rows" ON "turns" AS PERMISSIVE FOR ALL TO fixthread_app USING (user_id = (select nullif(current_setting('app.user_id', true), ''))) WITH CHECK (user_id = (select nullif(current_setting('app.user_id', true), '')));
--> statement-breakpoint
CREATE POLICY "turns_maintenance" ON "turns" AS PERMISSIVE FOR ALL TO fixthread_maintenance USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY "turns_reporting" ON "turns" AS PERMISSIVE FOR SELECT TO fixthread_reporting USING (true);
--> statement-breakpoint
-- turn_events has no user_id: a row is the user's when its turn is (turns' own policy applies inside).
ALTER TABLE "turn_events" ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "turn_events" FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY "turn_events_own_rows" ON "turn_events" AS PERMISSIVE FOR ALL TO fixthread_app USING (EXISTS (SELECT 1 FROM "turns" WHERE "turns"."id" = "turn_events"."turn_id")) WITH CHECK (EXISTS (SELECT 1 FROM "turns" WHERE "turns"."id" = "turn_events"."turn_id"));
--> statement-breakpoint
CREATE POLICY "turn_events_maintenance" ON "turn_events" AS PERMISSIVE FOR ALL TO fixthread_maintenance USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY "turn_events_reporting" ON "turn_events" AS PERMISSIVE FOR SELECT TO fixthread_reporting USING (true);
--> statement-breakpoint
ALTER TABLE "usage_ledger" ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "usage_ledger" FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY "usage_ledger_own_rows" ON "usage_ledger" AS PERMISSIVE FOR ALL TO fixthread_app USING (user_id = (select nullif(current_setting('app.user_id', true), ''))) WITH CHECK (user_id = (select nullif(current_setting('app.user_id', true), '')));
--> statement-breakpoint
CREATE POLICY "usage_ledger_maintenance" ON "usage_ledger" AS PERMISSIVE FOR ALL TO fixthread_maintenance USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY "usage_ledger_reporting" ON "usage_ledger" AS PERMISSIVE FOR SELECT TO fixthread_reporting USING (true);
--> statement-breakpoint
ALTER TABLE "attachments" ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "attachments" FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY "attachments_own_rows" ON "attachments" AS PERMISSIVE FOR ALL TO fixthread_app USING (user_id = (select nullif(current_setting('app.user_id', true), ''))) WITH CHECK (user_id = (select nullif(current_setting('app.user_id', true), '')));
--> statement-breakpoint
CREATE POLICY "attachments_maintenance" ON "attachments" AS PERMISSIVE FOR ALL TO fixthread_maintenance USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY "attachments_reporting" ON "attachments" AS PERMISSIVE FOR SELECT TO fixthread_reporting USING (true);
