CREATE TABLE `image_aliases` (
	`public_id` text PRIMARY KEY NOT NULL,
	`image_id` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch()) NOT NULL,
	FOREIGN KEY (`image_id`) REFERENCES `images`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `image_aliases_image_idx` ON `image_aliases` (`image_id`);--> statement-breakpoint
ALTER TABLE `images` ADD `public_id` text;--> statement-breakpoint
CREATE UNIQUE INDEX `images_public_id_idx` ON `images` (`public_id`);