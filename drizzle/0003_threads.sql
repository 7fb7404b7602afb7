CREATE TABLE "threads" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"title" text,
	"title_source" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_message_at" timestamp with time zone,
	CONSTRAINT "threads_title_source_check" CHECK ("threads"."title_source" IN ('auto', 'user'))
);
--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "superseded_at" timestamp;--> statement-breakpoint
CREATE INDEX "threads_user_id_activity_idx" ON "threads" USING btree ("user_id",coalesce("last_message_at", "created_at") desc,"id");--> statement-breakpoint
CREATE INDEX "conversations_content_search_idx" ON "conversations" USING gin (to_tsvector('english', "content"));--> statement-breakpoint
CREATE INDEX "conversations_user_id_id_idx" ON "conversations" USING btree ("user_id","id");--> statement-breakpoint
-- Every thread that already has messages becomes a row (today that is each user's default thread).
INSERT INTO "threads" ("id", "user_id", "created_at", "updated_at", "last_message_at")
SELECT "thread_id", min("user_id"), coalesce(min("created_at"), now()), coalesce(max("created_at"), now()), max("created_at")
FROM "conversations" GROUP BY "thread_id"
ON CONFLICT ("id") DO NOTHING;
