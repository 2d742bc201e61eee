CREATE TABLE `origin_images` (
	`image_id` text PRIMARY KEY NOT NULL,
	`origin` text NOT NULL,
	`path` text NOT NULL,
	`etag` text,
	`last_modified` text,
	`fetched_at` integer NOT NULL,
	`checked_at` integer NOT NULL,
	FOREIGN KEY (`image_id`) REFERENCES `images`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `origin_images_origin_path_idx` ON `origin_images` (`origin`,`path`);