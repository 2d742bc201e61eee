CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` integer,
	`name` text DEFAULT '' NOT NULL,
	`prefix` text NOT NULL,
	`hash` text NOT NULL,
	`scopes` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch()) NOT NULL,
	`last_used_at` integer,
	`revoked_at` integer,
	`requests` integer DEFAULT 0 NOT NULL,
	`renders` integer DEFAULT 0 NOT NULL,
	`bytes_served` integer DEFAULT 0 NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash_unique` ON `api_keys` (`hash`);--> statement-breakpoint
CREATE INDEX `api_keys_user_idx` ON `api_keys` (`user_id`);--> statement-breakpoint
CREATE TABLE `image_tags` (
	`image_id` text NOT NULL,
	`tag` text NOT NULL,
	PRIMARY KEY(`image_id`, `tag`),
	FOREIGN KEY (`image_id`) REFERENCES `images`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `image_tags_tag_idx` ON `image_tags` (`tag`,`image_id`);--> statement-breakpoint
CREATE TABLE `images` (
	`id` text PRIMARY KEY NOT NULL,
	`owner_id` integer,
	`hash` text NOT NULL,
	`format` text NOT NULL,
	`width` integer NOT NULL,
	`height` integer NOT NULL,
	`bytes` integer NOT NULL,
	`frames` integer DEFAULT 1 NOT NULL,
	`has_alpha` integer DEFAULT false NOT NULL,
	`clean` integer DEFAULT false NOT NULL,
	`orientation` text NOT NULL,
	`visibility` text DEFAULT 'public' NOT NULL,
	`collection` text,
	`tags` text DEFAULT '[]' NOT NULL,
	`filename` text,
	`placeholder` text,
	`placeholder_uri` text,
	`dominant` text,
	`focal_x` real,
	`focal_y` real,
	`created_at` integer DEFAULT (unixepoch()) NOT NULL,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `images_owner_hash_idx` ON `images` (`owner_id`,`hash`);--> statement-breakpoint
CREATE INDEX `images_hash_idx` ON `images` (`hash`);--> statement-breakpoint
CREATE INDEX `images_created_idx` ON `images` (`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `images_owner_created_idx` ON `images` (`owner_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `images_collection_idx` ON `images` (`collection`,`created_at`);--> statement-breakpoint
CREATE TABLE `presets` (
	`name` text PRIMARY KEY NOT NULL,
	`options` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch()) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch()) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `renditions` (
	`key` text PRIMARY KEY NOT NULL,
	`image_id` text NOT NULL,
	`options` text NOT NULL,
	`preset` text,
	`format` text NOT NULL,
	`width` integer NOT NULL,
	`height` integer NOT NULL,
	`bytes` integer NOT NULL,
	`created_at` integer DEFAULT (unixepoch()) NOT NULL,
	`last_access` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `renditions_image_idx` ON `renditions` (`image_id`);--> statement-breakpoint
CREATE INDEX `renditions_access_idx` ON `renditions` (`last_access`);--> statement-breakpoint
CREATE INDEX `renditions_preset_idx` ON `renditions` (`preset`);--> statement-breakpoint
CREATE TABLE `tasks` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`state` text DEFAULT 'queued' NOT NULL,
	`input` text NOT NULL,
	`result` text,
	`error` text,
	`owner_id` integer,
	`created_at` integer DEFAULT (unixepoch()) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch()) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `tasks_state_idx` ON `tasks` (`state`,`created_at`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`username` text NOT NULL,
	`password_hash` text NOT NULL,
	`role` text DEFAULT 'user' NOT NULL,
	`created_at` integer DEFAULT (unixepoch()) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_username_unique` ON `users` (`username`);--> statement-breakpoint
CREATE TABLE `variants` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`image_id` text NOT NULL,
	`options` text NOT NULL,
	`format` text NOT NULL,
	`width` integer NOT NULL,
	`height` integer NOT NULL,
	`bytes` integer NOT NULL,
	`created_at` integer DEFAULT (unixepoch()) NOT NULL,
	FOREIGN KEY (`image_id`) REFERENCES `images`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `variants_image_options_idx` ON `variants` (`image_id`,`options`,`format`);