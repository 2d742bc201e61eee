import { sql } from 'drizzle-orm';
import { bigint, boolean, doublePrecision, index, integer, pgTable, primaryKey, serial, text, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * The PostgreSQL twin of src/db/schema.ts (DATABASE_URL=postgres://…, issue 13): same tables,
 * columns, indexes and row types, so one repository contract suite holds for both. Times stay
 * unix seconds in integers as in SQLite; byte counters that can pass 2^31 are bigints read as numbers.
 * Migrations in ../migrations-pg are generated from this file (`npm run db:generate`).
 */

const unixNow = sql`(extract(epoch from now())::integer)`;
const createdAt = () => integer('created_at').notNull().default(unixNow);

export const users = pgTable('users', {
  id: serial('id').primaryKey(),
  username: text('username').notNull().unique(),
  passwordHash: text('password_hash').notNull(),
  role: text('role', { enum: ['admin', 'user'] })
    .notNull()
    .default('user'),
  createdAt: createdAt(),
});

export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    userId: integer('user_id').references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull().default(''),
    prefix: text('prefix').notNull(),
    hash: text('hash').notNull().unique(),
    scopes: text('scopes').notNull(),
    createdAt: createdAt(),
    lastUsedAt: integer('last_used_at'),
    revokedAt: integer('revoked_at'),
    previousHash: text('previous_hash'),
    previousValidUntil: integer('previous_valid_until'),
    requests: bigint('requests', { mode: 'number' }).notNull().default(0),
    renders: bigint('renders', { mode: 'number' }).notNull().default(0),
    bytesServed: bigint('bytes_served', { mode: 'number' }).notNull().default(0),
  },
  (t) => [index('api_keys_user_idx').on(t.userId), index('api_keys_previous_hash_idx').on(t.previousHash)],
);

export const images = pgTable(
  'images',
  {
    id: text('id').primaryKey(),
    ownerId: integer('owner_id').references(() => users.id, { onDelete: 'set null' }),
    hash: text('hash').notNull(),
    format: text('format').notNull(),
    width: integer('width').notNull(),
    height: integer('height').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    frames: integer('frames').notNull().default(1),
    hasAlpha: boolean('has_alpha').notNull().default(false),
    clean: boolean('clean').notNull().default(false),
    orientation: text('orientation', { enum: ['landscape', 'portrait', 'square'] }).notNull(),
    visibility: text('visibility', { enum: ['public', 'private'] })
      .notNull()
      .default('public'),
    collection: text('collection'),
    tags: text('tags').notNull().default('[]'),
    filename: text('filename'),
    placeholder: text('placeholder'),
    placeholderUri: text('placeholder_uri'),
    dominant: text('dominant'),
    focalX: doublePrecision('focal_x'),
    focalY: doublePrecision('focal_y'),
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

export const imageAliases = pgTable(
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

export const retiredPublicIds = pgTable('retired_public_ids', {
  publicId: text('public_id').primaryKey(),
  retiredAt: createdAt(),
});

export const originImages = pgTable(
  'origin_images',
  {
    imageId: text('image_id')
      .primaryKey()
      .references(() => images.id, { onDelete: 'cascade' }),
    origin: text('origin').notNull(),
    path: text('path').notNull(),
    etag: text('etag'),
    lastModified: text('last_modified'),
    fetchedAt: integer('fetched_at').notNull(),
    checkedAt: integer('checked_at').notNull(),
  },
  (t) => [uniqueIndex('origin_images_origin_path_idx').on(t.origin, t.path)],
);

export const directUploads = pgTable(
  'direct_uploads',
  {
    id: text('id').primaryKey(),
    caller: text('caller').notNull(),
    ownerId: integer('owner_id'),
    contentType: text('content_type').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    options: text('options').notNull().default('{}'),
    state: text('state', { enum: ['pending', 'completing', 'done', 'refused'] })
      .notNull()
      .default('pending'),
    result: text('result'),
    claimedAt: integer('claimed_at'),
    expiresAt: integer('expires_at').notNull(),
    completeBy: integer('complete_by').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('direct_uploads_caller_idx').on(t.caller, t.completeBy), index('direct_uploads_complete_by_idx').on(t.completeBy)],
);

export const imageTags = pgTable(
  'image_tags',
  {
    imageId: text('image_id')
      .notNull()
      .references(() => images.id, { onDelete: 'cascade' }),
    tag: text('tag').notNull(),
  },
  (t) => [primaryKey({ columns: [t.imageId, t.tag] }), index('image_tags_tag_idx').on(t.tag, t.imageId)],
);

/** Rendered images kept by the shared rendition tier: the purge-by-image list across nodes. */
export const renditions = pgTable(
  'renditions',
  {
    key: text('key').primaryKey(),
    imageId: text('image_id').notNull(),
    options: text('options').notNull(),
    preset: text('preset'),
    format: text('format').notNull(),
    width: integer('width').notNull(),
    height: integer('height').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    createdAt: createdAt(),
    /** Milliseconds (the LRU order of reads within one second), so a bigint. */
    lastAccess: bigint('last_access', { mode: 'number' }).notNull(),
  },
  (t) => [index('renditions_image_idx').on(t.imageId), index('renditions_access_idx').on(t.lastAccess), index('renditions_preset_idx').on(t.preset)],
);

export const variants = pgTable(
  'variants',
  {
    id: serial('id').primaryKey(),
    imageId: text('image_id')
      .notNull()
      .references(() => images.id, { onDelete: 'cascade' }),
    options: text('options').notNull(),
    format: text('format').notNull(),
    width: integer('width').notNull(),
    height: integer('height').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('variants_image_options_idx').on(t.imageId, t.options, t.format)],
);

export const presets = pgTable('presets', {
  name: text('name').primaryKey(),
  options: text('options').notNull(),
  createdAt: createdAt(),
  updatedAt: integer('updated_at').notNull().default(unixNow),
});

export const tasks = pgTable(
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
    updatedAt: integer('updated_at').notNull().default(unixNow),
  },
  (t) => [index('tasks_state_idx').on(t.state, t.createdAt)],
);

/** Cluster-wide leases (the drop-folder watcher, first-start work): one holder at a time, until `until`. */
export const leases = pgTable('leases', {
  name: text('name').primaryKey(),
  holder: text('holder').notNull(),
  until: integer('until').notNull(),
});

/**
 * Cluster-wide values made once by whichever node starts first (INSERT … ON CONFLICT DO NOTHING,
 * then read back): the generated signing keys and JWT secret when the environment names none, and
 * the marks of first-start work (samples, the printed admin key) so it runs once per cluster.
 */
export const settings = pgTable('settings', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
  createdAt: createdAt(),
});
