CREATE TABLE `retired_public_ids` (
	`public_id` text PRIMARY KEY NOT NULL,
	`created_at` integer DEFAULT (unixepoch()) NOT NULL
);
