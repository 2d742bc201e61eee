import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** The single source of the database shape; migrations in ./migrations are generated from it. */

const createdAt = () => integer('created_at').notNull().default(sql`(unixepoch())`);

export const users = sqliteTable('users', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  username: text('username').notNull().unique(),
  passwordHash: text('password_hash').notNull(),
  role: text('role', { enum: ['admin', 'user'] })
    .notNull()
    .default('user'),
  createdAt: createdAt(),
});

export const apiKeys = sqliteTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    userId: integer('user_id').references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull().default(''),
    /** First characters of the secret, shown in listings so a user can recognise a key. */
    prefix: text('prefix').notNull(),
    /** sha256 of the full key: keys are 190+ bits of randomness, so a fast hash is enough. */
    hash: text('hash').notNull().unique(),
    scopes: text('scopes').notNull(), // comma-separated: deliver,upload,admin
    createdAt: createdAt(),
    lastUsedAt: integer('last_used_at'),
    revokedAt: integer('revoked_at'),
    /**
     * The secret replaced by the last rotation, still accepted until `previousValidUntil`
     * (`keys rotate --grace`); null once a rotation without grace (or a revocation) ended it.
     */
    previousHash: text('previous_hash'),
    previousValidUntil: integer('previous_valid_until'),
    requests: integer('requests').notNull().default(0),
    renders: integer('renders').notNull().default(0),
    bytesServed: integer('bytes_served').notNull().default(0),
  },
  (t) => [index('api_keys_user_idx').on(t.userId), index('api_keys_previous_hash_idx').on(t.previousHash)],
);

export const images = sqliteTable(
  'images',
  {
    id: text('id').primaryKey(),
    ownerId: integer('owner_id').references(() => users.id, { onDelete: 'set null' }),
    /** sha256 of the original bytes; also the storage key of the original (content-addressed). */
    hash: text('hash').notNull(),
    format: text('format').notNull(),
    width: integer('width').notNull(),
    height: integer('height').notNull(),
    bytes: integer('bytes').notNull(),
    frames: integer('frames').notNull().default(1),
    hasAlpha: integer('has_alpha', { mode: 'boolean' }).notNull().default(false),
    /** False when the original carries EXIF/ICC/XMP or a rotation, so its bytes must never be served as-is. */
    clean: integer('clean', { mode: 'boolean' }).notNull().default(false),
    orientation: text('orientation', { enum: ['landscape', 'portrait', 'square'] }).notNull(),
    visibility: text('visibility', { enum: ['public', 'private'] })
      .notNull()
      .default('public'),
    collection: text('collection'),
    tags: text('tags').notNull().default('[]'), // JSON array, mirrored in image_tags for filtering
    filename: text('filename'),
    placeholder: text('placeholder'), // thumbhash, base64
    placeholderUri: text('placeholder_uri'),
    dominant: text('dominant'),
    focalX: real('focal_x'),
    focalY: real('focal_y'),
    /**
     * A readable id the owner chose (`blog/2024/cat`), usable wherever `id` is; null = only the
     * random id. Unique per server (one namespace, as a Cloudinary cloud): see src/library/public-ids.ts.
     */
    publicId: text('public_id'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('images_owner_hash_idx').on(t.ownerId, t.hash),
    uniqueIndex('images_public_id_idx').on(t.publicId),
    index('images_hash_idx').on(t.hash),
    index('images_created_idx').on(t.createdAt, t.id),
    index('images_owner_created_idx').on(t.ownerId, t.createdAt, t.id),
    index('images_collection_idx').on(t.collection, t.createdAt),
  ],
);

/**
 * Public ids an image had before a rename: the old path answers 301 to the current one, so links
 * already on pages keep working. Held for that image until it is deleted (nobody else may take the
 * name: a browser that cached the 301 would never ask again).
 */
export const imageAliases = sqliteTable(
  'image_aliases',
  {
    publicId: text('public_id').primaryKey(),
    imageId: text('image_id')
      .notNull()
      .references(() => images.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [index('image_aliases_image_idx').on(t.imageId)],
);

/**
 * Public ids (and renamed-away names) of deleted images. They are never given out again: a signed
 * URL, a policy, a bookmark or a cached 301 made for the old image must never open a new one.
 */
export const retiredPublicIds = sqliteTable('retired_public_ids', {
  publicId: text('public_id').primaryKey(),
  retiredAt: createdAt(),
});

/**
 * Images whose original lives at a remote origin (ORIGINS): where it came from and what the origin
 * said about it, for revalidation after ORIGIN_TTL_SECONDS. The image row itself is an ordinary one
 * (caches, purge, /info, placeholders) under an id derived from origin and path.
 */
export const originImages = sqliteTable(
  'origin_images',
  {
    imageId: text('image_id')
      .primaryKey()
      .references(() => images.id, { onDelete: 'cascade' }),
    origin: text('origin').notNull(),
    /** Decoded path below the origin's base URL. */
    path: text('path').notNull(),
    etag: text('etag'),
    lastModified: text('last_modified'),
    /** Unix seconds of the last 200 (the bytes we hold). */
    fetchedAt: integer('fetched_at').notNull(),
    /** Unix seconds of the last answer from the origin (200 or 304); the TTL runs from here. */
    checkedAt: integer('checked_at').notNull(),
  },
  (t) => [uniqueIndex('origin_images_origin_path_idx').on(t.origin, t.path)],
);

/**
 * Direct uploads (STORAGE=s3): a presigned PUT into `uploads/{id}` under S3_PREFIX, waiting for
 * `POST /images/uploads/{id}/complete`. Rows (and any staging object left) are swept once
 * `completeBy` passes, whatever their state: a presigned URL can be PUT to again until it expires.
 */
export const directUploads = sqliteTable(
  'direct_uploads',
  {
    id: text('id').primaryKey(),
    /** `user:{id}` or, for a key without an owning user, `key:{id}`: only this caller may complete it. */
    caller: text('caller').notNull(),
    /** Who will own the image (the caller's user; null for system keys). */
    ownerId: integer('owner_id'),
    contentType: text('content_type').notNull(),
    /** The exact Content-Length the presigned PUT was signed for. */
    bytes: integer('bytes').notNull(),
    /** JSON: filename, tags, collection, visibility, as POST /images takes them. */
    options: text('options').notNull().default('{}'),
    state: text('state', { enum: ['pending', 'completing', 'done', 'refused'] })
      .notNull()
      .default('pending'),
    /** JSON: `{"imageId"}` when done, `{"status","code","message"}` when refused (replayed to a second complete). */
    result: text('result'),
    /** Unix seconds: when a complete took this upload (a crashed one is retaken after a while). */
    claimedAt: integer('claimed_at'),
    /** Unix seconds: the presigned URL stops working. */
    expiresAt: integer('expires_at').notNull(),
    /** Unix seconds: complete is refused (410) and the row and staging object swept after this. */
    completeBy: integer('complete_by').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('direct_uploads_caller_idx').on(t.caller, t.completeBy), index('direct_uploads_complete_by_idx').on(t.completeBy)],
);

export const imageTags = sqliteTable(
  'image_tags',
  {
    imageId: text('image_id')
      .notNull()
      .references(() => images.id, { onDelete: 'cascade' }),
    tag: text('tag').notNull(),
  },
  (t) => [primaryKey({ columns: [t.imageId, t.tag] }), index('image_tags_tag_idx').on(t.tag, t.imageId)],
);

/** Rendered images in the disk cache: the LRU index and the purge-by-image list. */
export const renditions = sqliteTable(
  'renditions',
  {
    key: text('key').primaryKey(),
    imageId: text('image_id').notNull(),
    options: text('options').notNull(),
    preset: text('preset'),
    format: text('format').notNull(),
    width: integer('width').notNull(),
    height: integer('height').notNull(),
    bytes: integer('bytes').notNull(),
    createdAt: createdAt(),
    lastAccess: integer('last_access').notNull(),
  },
  (t) => [index('renditions_image_idx').on(t.imageId), index('renditions_access_idx').on(t.lastAccess), index('renditions_preset_idx').on(t.preset)],
);

/** Variants made on purpose through the transform API, kept even when the cache evicts them. */
export const variants = sqliteTable(
  'variants',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    imageId: text('image_id')
      .notNull()
      .references(() => images.id, { onDelete: 'cascade' }),
    options: text('options').notNull(),
    format: text('format').notNull(),
    width: integer('width').notNull(),
    height: integer('height').notNull(),
    bytes: integer('bytes').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('variants_image_options_idx').on(t.imageId, t.options, t.format)],
);

export const presets = sqliteTable('presets', {
  name: text('name').primaryKey(),
  options: text('options').notNull(),
  createdAt: createdAt(),
  updatedAt: integer('updated_at').notNull().default(sql`(unixepoch())`),
});

export const tasks = sqliteTable(
  'tasks',
  {
    id: text('id').primaryKey(),
    kind: text('kind').notNull(),
    state: text('state', { enum: ['queued', 'running', 'done', 'failed'] })
      .notNull()
      .default('queued'),
    input: text('input').notNull(),
    result: text('result'),
    error: text('error'),
    ownerId: integer('owner_id'),
    /** Which node runs it, and until when its claim holds (a dead node's task is taken over after). */
    claimedBy: text('claimed_by'),
    leaseUntil: integer('lease_until'),
    createdAt: createdAt(),
    updatedAt: integer('updated_at').notNull().default(sql`(unixepoch())`),
  },
  (t) => [index('tasks_state_idx').on(t.state, t.createdAt)],
);

export type ImageRow = typeof images.$inferSelect;
export type UserRow = typeof users.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type TaskRow = typeof tasks.$inferSelect;
export type OriginImageRow = typeof originImages.$inferSelect;
export type DirectUploadRow = typeof directUploads.$inferSelect;
export type RenditionRow = typeof renditions.$inferSelect;
