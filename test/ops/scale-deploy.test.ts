import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { configSchema, loadConfig } from '../../src/config.js';
import { ROOT } from './cli.js';

/**
 * docker-compose.scale.yml and deploy/nginx-lb.conf without a Docker engine (none where the tests
 * run): the file parses as YAML with its anchors and merges, every variable a node is given is one
 * imgpath reads, and each node's environment — interpolated as compose would — is a configuration
 * imgpath accepts, for the cluster the README describes. docs/operations.md lists what stays unverified.
 */

const text = fs.readFileSync(path.join(ROOT, 'docker-compose.scale.yml'), 'utf8');
/** The directives of the nginx config, comments removed. */
const nginx = fs
  .readFileSync(path.join(ROOT, 'deploy/nginx-lb.conf'), 'utf8')
  .split('\n')
  .map((l) => l.replace(/#.*/, '').trim())
  .filter(Boolean)
  .join('\n');

interface Service {
  image?: string;
  build?: string;
  entrypoint?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: string[];
}
const compose = parse(text, { merge: true }) as { services: Record<string, Service>; volumes: Record<string, null> };
const nodes = Object.entries(compose.services).filter(([, s]) => s.build === '.');

/** Compose's interpolation: `$$`, `${X}`, `${X:-default}` (nested), `${X:?error}`, against `env` (the shell and .env). */
function interpolate(value: string, env: Record<string, string>): string {
  let out = value;
  for (let again = true; again; ) {
    again = false;
    out = out.replace(/\$\{([A-Z0-9_]+)(?:(:-|:\?)([^${}]*))?\}/g, (_, name: string, op?: string, arg?: string) => {
      again = true;
      if (env[name]) return env[name];
      if (op === ':?') throw new Error(`compose would refuse to start: ${name}: ${arg}`);
      return op === ':-' ? (arg ?? '') : '';
    });
  }
  return out.replaceAll('$$', '$');
}

const secrets = { SIGNING_KEYS: 'k1:a-long-enough-signing-secret', JWT_SECRET: 'a-jwt-secret-of-at-least-32-characters!' };
const envOf = (s: Service, env: Record<string, string> = secrets) =>
  Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), env)]));

describe('docker-compose.scale.yml', () => {
  test('PostgreSQL 15, an S3-compatible store with its bucket, two imgpath nodes and nginx in front', () => {
    const { services } = compose;
    expect(services.postgres?.image).toMatch(/^postgres:15/);
    expect(services.minio?.image).toMatch(/^quay\.io\/minio\/minio:RELEASE\./);
    // The bucket is made once, before any node starts (imgpath never creates one).
    expect(services['minio-bucket']?.entrypoint?.join(' ')).toMatch(/mc mb --ignore-existing local\/imgpath/);
    expect(nodes.map(([name]) => name)).toEqual(['imgpath-a', 'imgpath-b']);
    expect(services.lb?.image).toMatch(/^nginx:/);
    expect(services.lb?.depends_on).toEqual(Object.fromEntries(nodes.map(([name]) => [name, { condition: 'service_healthy' }])));
    for (const [, node] of nodes) {
      expect(node.depends_on).toEqual({ postgres: { condition: 'service_healthy' }, 'minio-bucket': { condition: 'service_completed_successfully' } });
      // Readiness, not liveness: a node joins the balancer once it can serve images.
      expect(node.healthcheck?.test.join(' ')).toContain('/readyz');
    }
  });

  test('every variable a node is given is one imgpath reads (a typo would be silently ignored)', () => {
    const known = new Set(Object.keys(configSchema.shape));
    for (const [name, node] of nodes) {
      expect(
        Object.keys(node.environment ?? {}).filter((k) => !known.has(k)),
        name,
      ).toEqual([]);
    }
  });

  test("each node's environment is a configuration imgpath accepts: PostgreSQL, originals and shared renditions in S3, its own name", () => {
    const configs = nodes.map(([, node]) => loadConfig(envOf(node)));
    for (const c of configs) {
      expect(c.DATABASE_URL).toBe('postgres://imgpath:imgpath@postgres:5432/imgpath');
      expect(c).toMatchObject({ STORAGE: 's3', RENDITIONS_STORE: 's3', S3_ENDPOINT: 'http://minio:9000', S3_BUCKET: 'imgpath', TRUST_PROXY: true });
      expect(c.PUBLIC_URL).toBe('http://localhost:8080');
      expect(c.SIGNING_KEYS).toEqual([{ kid: 'k1', secret: 'a-long-enough-signing-secret' }]);
    }
    expect(new Set(configs.map((c) => c.NODE_NAME)).size).toBe(configs.length);
    // Overridable from .env as documented: the balancer's port and the public address follow.
    expect(loadConfig(envOf(nodes[0]![1], { ...secrets, IMGPATH_PORT: '9090' })).PUBLIC_URL).toBe('http://localhost:9090');
    expect(loadConfig(envOf(nodes[0]![1], { ...secrets, PUBLIC_URL: 'https://img.example.com' })).PUBLIC_URL).toBe('https://img.example.com');
  });

  test('refuses to start without the secrets every node must share', () => {
    expect(() => envOf(nodes[0]![1], {})).toThrow(/SIGNING_KEYS/);
    expect(() => envOf(nodes[0]![1], { SIGNING_KEYS: secrets.SIGNING_KEYS })).toThrow(/JWT_SECRET/);
  });

  test('memory and disk tiers per node, one drop folder for all, every volume declared', () => {
    const mounts = nodes.map(([, node]) => Object.fromEntries((node.volumes ?? []).map((v) => v.split(':').reverse() as [string, string])));
    const [a, b] = mounts;
    expect(a!['/app/cache']).not.toBe(b!['/app/cache']);
    expect(a!['/app/data']).not.toBe(b!['/app/data']);
    expect(a!['/app/inbox']).toBe(b!['/app/inbox']);
    const used = Object.values(compose.services).flatMap((s) => (s.volumes ?? []).map((v) => v.split(':')[0]!).filter((v) => !v.startsWith('.')));
    expect(used.filter((v) => !(v in compose.volumes))).toEqual([]);
    for (const [, node] of nodes) expect(envOf(node).INBOX_DIR).toBe('/app/inbox');
    // A fresh named volume takes the owner of the image's directory: the server (user node) must own it.
    const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^RUN mkdir -p .*\/app\/inbox && chown node:node .*\/app\/inbox$/m);
  });
});

describe('deploy/nginx-lb.conf', () => {
  test('balances over exactly the imgpath nodes, on their port, and the compose file mounts it', () => {
    const servers = [...nginx.matchAll(/^\s*server (\S+):(\d+)\b/gm)].map((m) => `${m[1]}:${m[2]}`);
    expect(servers).toEqual(nodes.map(([name]) => `${name}:3000`));
    expect(compose.services.lb?.volumes).toContain('./deploy/nginx-lb.conf:/etc/nginx/conf.d/default.conf:ro');
  });

  test('lets uploads up to MAX_UPLOAD_MB through, passes the client address the nodes trust, never resends a write', () => {
    const mb = Number(/client_max_body_size (\d+)m;/.exec(nginx)?.[1]);
    expect(mb).toBeGreaterThan(loadConfig({}).MAX_UPLOAD_MB);
    expect(nginx).toMatch(/proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/);
    expect(nginx).not.toMatch(/non_idempotent/);
    // Braces balance (a cheap syntax check: there is no nginx here to run `nginx -t`).
    expect(nginx.split('{').length).toBe(nginx.split('}').length);
    for (const line of nginx.split('\n')) if (!line.endsWith('{') && line !== '}') expect(line, line).toMatch(/;$/);
  });
});
