CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" integer,
	"name" text DEFAULT '' NOT NULL,
	"prefix" text NOT NULL,
	"hash" text NOT NULL,
	"scopes" text NOT NULL,
	"created_at" integer DEFAULT (extract(epoch from now())::integer) NOT NULL,
	"last_used_at" integer,
	"revoked_at" integer,
	"previous_hash" text,
	"previous_valid_until" integer,
	"requests" bigint DEFAULT 0 NOT NULL,
	"renders" bigint DEFAULT 0 NOT NULL,
	"bytes_served" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "api_keys_hash_unique" UNIQUE("hash")
);
--> statement-breakpoint
CREATE TABLE "direct_uploads" (
	"id" text PRIMARY KEY NOT NULL,
	"caller" text NOT NULL,
	"owner_id" integer,
	"content_type" text NOT NULL,
	"bytes" bigint NOT NULL,
	"options" text DEFAULT '{}' NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"result" text,
	"claimed_at" integer,
	"expires_at" integer NOT NULL,
	"complete_by" integer NOT NULL,
	"created_at" integer DEFAULT (extract(epoch from now())::integer) NOT NULL
);
--> statement-breakpoint
CREATE TABLE "image_aliases" (
	"public_id" text PRIMARY KEY NOT NULL,
	"image_id" text NOT NULL,
	"created_at" integer DEFAULT (extract(epoch from now())::integer) NOT NULL
);
--> statement-breakpoint
CREATE TABLE "image_tags" (
	"image_id" text NOT NULL,
	"tag" text NOT NULL,
	CONSTRAINT "image_tags_image_id_tag_pk" PRIMARY KEY("image_id","tag")
);
--> statement-breakpoint
CREATE TABLE "images" (
	"id" text PRIMARY KEY NOT NULL,
	"owner_id" integer,
	"hash" text NOT NULL,
	"format" text NOT NULL,
	"width" integer NOT NULL,
	"height" integer NOT NULL,
	"bytes" bigint NOT NULL,
	"frames" integer DEFAULT 1 NOT NULL,
	"has_alpha" boolean DEFAULT false NOT NULL,
	"clean" boolean DEFAULT false NOT NULL,
	"orientation" text NOT NULL,
	"visibility" text DEFAULT 'public' NOT NULL,
	"collection" text,
	"tags" text DEFAULT '[]' NOT NULL,
	"filename" text,
	"placeholder" text,
	"placeholder_uri" text,
	"dominant" text,
	"focal_x" double precision,
	"focal_y" double precision,
	"public_id" text,
	"created_at" integer DEFAULT (extract(epoch from now())::integer) NOT NULL
);
--> statement-breakpoint
CREATE TABLE "leases" (
	"name" text PRIMARY KEY NOT NULL,
	"holder" text NOT NULL,
	"until" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "origin_images" (
	"image_id" text PRIMARY KEY NOT NULL,
	"origin" text NOT NULL,
	"path" text NOT NULL,
	"etag" text,
	"last_modified" text,
	"fetched_at" integer NOT NULL,
	"checked_at" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "presets" (
	"name" text PRIMARY KEY NOT NULL,
	"options" text NOT NULL,
	"created_at" integer DEFAULT (extract(epoch from now())::integer) NOT NULL,
	"updated_at" integer DEFAULT (extract(epoch from now())::integer) NOT NULL
);
--> statement-breakpoint
CREATE TABLE "renditions" (
	"key" text PRIMARY KEY NOT NULL,
	"image_id" text NOT NULL,
	"options" text NOT NULL,
	"preset" text,
	"format" text NOT NULL,
	"width" integer NOT NULL,
	"height" integer NOT NULL,
	"bytes" bigint NOT NULL,
	"created_at" integer DEFAULT (extract(epoch from now())::integer) NOT NULL,
	"last_access" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "retired_public_ids" (
	"public_id" text PRIMARY KEY NOT NULL,
	"created_at" integer DEFAULT (extract(epoch from now())::integer) NOT NULL
);
--> statement-breakpoint
CREATE TABLE "settings" (
	"name" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL,
	"created_at" integer DEFAULT (extract(epoch from now())::integer) NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tasks" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"state" text DEFAULT 'queued' NOT NULL,
	"input" text NOT NULL,
	"result" text,
	"error" text,
	"owner_id" integer,
	"claimed_by" text,
	"lease_until" integer,
	"created_at" integer DEFAULT (extract(epoch from now())::integer) NOT NULL,
	"updated_at" integer DEFAULT (extract(epoch from now())::integer) NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" serial PRIMARY KEY NOT NULL,
	"username" text NOT NULL,
	"password_hash" text NOT NULL,
	"role" text DEFAULT 'user' NOT NULL,
	"created_at" integer DEFAULT (extract(epoch from now())::integer) NOT NULL,
	CONSTRAINT "users_username_unique" UNIQUE("username")
);
--> statement-breakpoint
CREATE TABLE "variants" (
	"id" serial PRIMARY KEY NOT NULL,
	"image_id" text NOT NULL,
	"options" text NOT NULL,
	"format" text NOT NULL,
	"width" integer NOT NULL,
	"height" integer NOT NULL,
	"bytes" bigint NOT NULL,
	"created_at" integer DEFAULT (extract(epoch from now())::integer) NOT NULL
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "image_aliases" ADD CONSTRAINT "image_aliases_image_id_images_id_fk" FOREIGN KEY ("image_id") REFERENCES "public"."images"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "image_tags" ADD CONSTRAINT "image_tags_image_id_images_id_fk" FOREIGN KEY ("image_id") REFERENCES "public"."images"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "images" ADD CONSTRAINT "images_owner_id_users_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "origin_images" ADD CONSTRAINT "origin_images_image_id_images_id_fk" FOREIGN KEY ("image_id") REFERENCES "public"."images"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "variants" ADD CONSTRAINT "variants_image_id_images_id_fk" FOREIGN KEY ("image_id") REFERENCES "public"."images"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "api_keys_user_idx" ON "api_keys" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "api_keys_previous_hash_idx" ON "api_keys" USING btree ("previous_hash");--> statement-breakpoint
CREATE INDEX "direct_uploads_caller_idx" ON "direct_uploads" USING btree ("caller","complete_by");--> statement-breakpoint
CREATE INDEX "direct_uploads_complete_by_idx" ON "direct_uploads" USING btree ("complete_by");--> statement-breakpoint
CREATE INDEX "image_aliases_image_idx" ON "image_aliases" USING btree ("image_id");--> statement-breakpoint
CREATE INDEX "image_tags_tag_idx" ON "image_tags" USING btree ("tag","image_id");--> statement-breakpoint
CREATE UNIQUE INDEX "images_owner_hash_idx" ON "images" USING btree ("owner_id","hash");--> statement-breakpoint
CREATE UNIQUE INDEX "images_public_id_idx" ON "images" USING btree ("public_id");--> statement-breakpoint
CREATE INDEX "images_hash_idx" ON "images" USING btree ("hash");--> statement-breakpoint
CREATE INDEX "images_created_idx" ON "images" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "images_owner_created_idx" ON "images" USING btree ("owner_id","created_at","id");--> statement-breakpoint
CREATE INDEX "images_collection_idx" ON "images" USING btree ("collection","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "origin_images_origin_path_idx" ON "origin_images" USING btree ("origin","path");--> statement-breakpoint
CREATE INDEX "renditions_image_idx" ON "renditions" USING btree ("image_id");--> statement-breakpoint
CREATE INDEX "renditions_access_idx" ON "renditions" USING btree ("last_access");--> statement-breakpoint
CREATE INDEX "renditions_preset_idx" ON "renditions" USING btree ("preset");--> statement-breakpoint
CREATE INDEX "tasks_state_idx" ON "tasks" USING btree ("state","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "variants_image_options_idx" ON "variants" USING btree ("image_id","options","format");