ALTER TABLE `api_keys` ADD `previous_hash` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `previous_valid_until` integer;--> statement-breakpoint
CREATE INDEX `api_keys_previous_hash_idx` ON `api_keys` (`previous_hash`);