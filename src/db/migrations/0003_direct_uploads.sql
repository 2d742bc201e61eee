CREATE TABLE `direct_uploads` (
	`id` text PRIMARY KEY NOT NULL,
	`caller` text NOT NULL,
	`owner_id` integer,
	`content_type` text NOT NULL,
	`bytes` integer NOT NULL,
	`options` text DEFAULT '{}' NOT NULL,
	`state` text DEFAULT 'pending' NOT NULL,
	`result` text,
	`claimed_at` integer,
	`expires_at` integer NOT NULL,
	`complete_by` integer NOT NULL,
	`created_at` integer DEFAULT (unixepoch()) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `direct_uploads_caller_idx` ON `direct_uploads` (`caller`,`complete_by`);--> statement-breakpoint
CREATE INDEX `direct_uploads_complete_by_idx` ON `direct_uploads` (`complete_by`);