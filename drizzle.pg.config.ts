import { defineConfig } from 'drizzle-kit';

// The PostgreSQL migrations (DATABASE_URL=postgres://…), generated from src/db/pg/schema.ts by
// `npm run db:generate` and committed; the server applies them at start (src/db/pg/client.ts).
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/pg/schema.ts',
  out: './src/db/migrations-pg',
});
