CREATE TABLE "attachments" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"message_id" integer,
	"position" smallint,
	"content_type" text NOT NULL,
	"bytes" "bytea" NOT NULL,
	"byte_size" integer NOT NULL,
	"width" integer NOT NULL,
	"height" integer NOT NULL,
	"thumbnail" "bytea" NOT NULL,
	"thumbnail_content_type" text NOT NULL,
	"sha256" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "attachments_content_type_check" CHECK ("attachments"."content_type" IN ('image/jpeg', 'image/png', 'image/webp')),
	CONSTRAINT "attachments_position_check" CHECK (("attachments"."message_id" IS NULL) = ("attachments"."position" IS NULL) AND "attachments"."position" >= 0)
);
--> statement-breakpoint
ALTER TABLE "attachments" ADD CONSTRAINT "attachments_message_id_conversations_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "attachments_message_id_position_key" ON "attachments" USING btree ("message_id","position");--> statement-breakpoint
CREATE INDEX "attachments_user_id_created_at_idx" ON "attachments" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "attachments_unsent_created_at_idx" ON "attachments" USING btree ("created_at") WHERE "attachments"."message_id" IS NULL;