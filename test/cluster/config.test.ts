import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, maskedConfig } from '../../src/config.js';

// What selects PostgreSQL and the shared rendition tier, and what the start refuses (issue 13).
const s3 = { STORAGE: 's3', S3_BUCKET: 'b' };
const pg = 'postgres://imgpath:hunter2-secret@db.internal:5432/imgpath';

describe('cluster configuration', () => {
  it('DATABASE_URL takes postgres:// and postgresql:// URLs, nothing else', () => {
    expect(loadConfig({ DATABASE_URL: pg }).DATABASE_URL).toBe(pg);
    expect(loadConfig({ DATABASE_URL: 'postgresql://db/x' }).DATABASE_URL).toBe('postgresql://db/x');
    expect(() => loadConfig({ DATABASE_URL: 'mysql://db/x' })).toThrow(/DATABASE_URL: expected a postgres:\/\/ or postgresql:\/\/ URL/);
  });

  it("without DATABASE_URL the disk tier's index is the library's SQLite file; with it, this node's own file in CACHE_DIR", () => {
    const alone = loadConfig({ DATA_DIR: '/d', CACHE_DIR: '/c' });
    expect(alone.indexFile).toBe('/d/imgpath.db');
    expect(alone.indexFile).toBe(alone.dbFile);
    expect(loadConfig({ DATA_DIR: '/d', CACHE_DIR: '/c', DATABASE_URL: pg }).indexFile).toBe('/c/index.db');
  });

  it('RENDITIONS_STORE=s3 needs STORAGE=s3 and DATABASE_URL, and says which is missing', () => {
    expect(loadConfig({ ...s3, DATABASE_URL: pg, RENDITIONS_STORE: 's3' }).RENDITIONS_STORE).toBe('s3');
    const refused = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).issues.join('\n');
      }
      throw new Error('accepted');
    };
    expect(refused({ RENDITIONS_STORE: 's3', DATABASE_URL: pg })).toMatch(/^RENDITIONS_STORE: s3 needs STORAGE=s3 /);
    expect(refused({ ...s3, RENDITIONS_STORE: 's3' })).toMatch(/^RENDITIONS_STORE: s3 needs DATABASE_URL/);
    expect(refused({ RENDITIONS_STORE: 's3' })).toMatch(/STORAGE=s3 .* and DATABASE_URL/);
  });

  it('imgpath config shows where the database is, never its password', () => {
    const shown = maskedConfig(loadConfig({ DATABASE_URL: pg }));
    expect(shown.DATABASE_URL).toBe('postgres://imgpath:***@db.internal:5432/imgpath');
    expect(JSON.stringify(shown)).not.toContain('hunter2');
  });
});
