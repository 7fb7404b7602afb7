CREATE TABLE "turn_events" (
	"turn_id" text NOT NULL,
	"seq" integer NOT NULL,
	"round" integer NOT NULL,
	"type" text NOT NULL,
	"content" text NOT NULL,
	CONSTRAINT "turn_events_turn_id_seq_pk" PRIMARY KEY("turn_id","seq")
);
--> statement-breakpoint
CREATE TABLE "turns" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"thread_id" text NOT NULL,
	"client_message_id" text,
	"message_hash" text NOT NULL,
	"user_message_id" integer,
	"assistant_message_id" integer,
	"status" text NOT NULL,
	"owner" text NOT NULL,
	"lease_expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"usage_tokens" integer,
	"usage_estimated" boolean,
	"error_code" text,
	"error_message" text,
	CONSTRAINT "turns_status_check" CHECK ("turns"."status" IN ('queued', 'running', 'completed', 'failed', 'stopped', 'interrupted'))
);
--> statement-breakpoint
CREATE TABLE "usage_ledger" (
	"id" serial PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"turn_id" text NOT NULL,
	"round" integer NOT NULL,
	"prompt_tokens" integer NOT NULL,
	"completion_tokens" integer NOT NULL,
	"total_tokens" integer NOT NULL,
	"cached_tokens" integer,
	"estimated" boolean NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "turn_events" ADD CONSTRAINT "turn_events_turn_id_turns_id_fk" FOREIGN KEY ("turn_id") REFERENCES "public"."turns"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "turns" ADD CONSTRAINT "turns_user_message_id_conversations_id_fk" FOREIGN KEY ("user_message_id") REFERENCES "public"."conversations"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "turns" ADD CONSTRAINT "turns_assistant_message_id_conversations_id_fk" FOREIGN KEY ("assistant_message_id") REFERENCES "public"."conversations"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "turns_user_client_message_id_key" ON "turns" USING btree ("user_id","client_message_id");--> statement-breakpoint
CREATE UNIQUE INDEX "turns_one_running_per_thread" ON "turns" USING btree ("thread_id") WHERE "turns"."status" = 'running';--> statement-breakpoint
CREATE INDEX "turns_thread_id_status_idx" ON "turns" USING btree ("thread_id","status");--> statement-breakpoint
CREATE INDEX "turns_status_lease_idx" ON "turns" USING btree ("status","lease_expires_at");--> statement-breakpoint
CREATE INDEX "usage_ledger_user_id_idx" ON "usage_ledger" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "usage_ledger_turn_id_round_key" ON "usage_ledger" USING btree ("turn_id","round");