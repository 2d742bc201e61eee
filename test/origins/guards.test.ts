import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { isPrivateAddress } from '../../src/origins/address.js';
import { looksLikeImage } from '../../src/origins/fetch.js';
import { originImageId, resolveOriginPath } from '../../src/origins/url.js';
import { solid } from './origin-server.js';

describe('isPrivateAddress', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true], // cloud metadata
    ['100.64.0.1', true], // CGNAT
    ['100.127.255.255', true],
    ['0.0.0.0', true],
    ['224.0.0.1', true], // multicast
    ['255.255.255.255', true],
    ['::', true],
    ['::1', true],
    ['[::1]', true],
    ['fe80::1%eth0', true],
    ['fd00::1', true],
    ['ff02::1', true],
    ['::ffff:127.0.0.1', true], // IPv4-mapped loopback
    ['::ffff:7f00:1', true], // the same, hex-spelled
    ['::ffff:169.254.169.254', true],
    ['64:ff9b::10.0.0.1', true], // NAT64 of a private address
    ['::127.0.0.1', true], // IPv4-compatible
    ['not-an-ip', true],
    ['93.184.215.14', false],
    ['8.8.8.8', false],
    ['172.32.0.1', false],
    ['100.128.0.1', false],
    ['2606:4700::6810:84e5', false],
    ['::ffff:8.8.8.8', false],
    ['64:ff9b::8.8.8.8', false],
  ])('%s → %s', (address, blocked) => {
    expect(isPrivateAddress(address)).toBe(blocked);
  });
});

describe('resolveOriginPath', () => {
  const base = 'https://blog.example.com/media/';
  it.each([
    ['2024/cat.jpg', 'https://blog.example.com/media/2024/cat.jpg'],
    ['cat%20photo.jpg', 'https://blog.example.com/media/cat%20photo.jpg'],
    ['cat@2x.jpg', 'https://blog.example.com/media/cat%402x.jpg'],
    ['@evil.example/x.jpg', 'https://blog.example.com/media/%40evil.example/x.jpg'],
    ['user:pass@evil.example', 'https://blog.example.com/media/user%3Apass%40evil.example'],
  ])('joins %s under the base as %s', (raw, url) => {
    expect(resolveOriginPath(base, raw).url).toBe(url);
  });

  it.each([
    '..',
    '../secret.jpg',
    'a/../../secret.jpg',
    '.',
    './cat.jpg',
    '%2e%2e/secret.jpg',
    '%2E%2E/secret.jpg',
    '..%2fsecret.jpg',
    '..%2Fsecret.jpg',
    '%2e%2e%2fsecret.jpg',
    '..%5csecret.jpg',
    '%252e%252e/secret.jpg', // double encoding
    '%252fsecret.jpg',
    '/evil.example/x.jpg', // `//` after @name
    'a//b.jpg',
    'cat.jpg%3Fx=1',
    'cat.jpg%23frag',
    'cat%00.jpg',
    'cat%0a.jpg',
    '%',
    '%zz',
    '',
    'a/'.repeat(600),
  ])('refuses %s with 400 bad_origin_path', (raw) => {
    expect(() => resolveOriginPath(base, raw)).toThrow(expect.objectContaining({ status: 400, code: 'bad_origin_path' }));
  });

  it('derives a stable 22-character id from origin and decoded path', () => {
    expect(originImageId('blog', '2024/cat.jpg')).toBe(originImageId('blog', '2024/cat.jpg'));
    expect(originImageId('blog', '2024/cat.jpg')).not.toBe(originImageId('assets', '2024/cat.jpg'));
    expect(originImageId('blog', '2024/cat.jpg')).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});

describe('ORIGINS in the configuration', () => {
  const load = (env: Record<string, string>) => loadConfig({ DATA_DIR: '/tmp/x', ...env });

  it('parses names, bases (with a trailing slash) and the private allowance', () => {
    const c = load({ ORIGINS: 'blog=https://blog.example.com/media,assets=http://10.0.0.5:8080/', ORIGINS_ALLOW_PRIVATE: 'assets' });
    expect([...c.origins.values()]).toEqual([
      { name: 'blog', base: 'https://blog.example.com/media/', allowPrivate: false },
      { name: 'assets', base: 'http://10.0.0.5:8080/', allowPrivate: true },
    ]);
  });

  it.each([
    [{ ORIGINS: 'assets=s3://bucket/prefix' }, /s3:\/\/ origins are not supported yet/],
    [{ ORIGINS: 'blog=ftp://example.com/' }, /not allowed/],
    [{ ORIGINS: 'blog=https://user:pw@example.com/' }, /not allowed/],
    [{ ORIGINS: 'blog=https://example.com/?a=1' }, /not allowed/],
    [{ ORIGINS: 'Blog!=https://example.com/' }, /name/],
    [{ ORIGINS: 'blog=https://a.example/,blog=https://b.example/' }, /named twice/],
    [{ ORIGINS: 'blog=https://a.example/', ORIGINS_ALLOW_PRIVATE: 'assets' }, /not in ORIGINS/],
    [{ ORIGINS_ALLOW_PRIVATE: 'blog' }, /ORIGINS is unset/],
  ])('%o fails the start: %s', (env, message) => {
    expect(() => load(env)).toThrow(ConfigError);
    expect(() => load(env)).toThrow(message);
  });
});

describe('looksLikeImage', () => {
  it('accepts JPEG and PNG magic, refuses HTML and JSON', async () => {
    expect(looksLikeImage(await solid(8, 8, 'jpeg'))).toBe(true);
    expect(looksLikeImage(await solid(8, 8, 'png'))).toBe(true);
    expect(looksLikeImage(Buffer.from('<!doctype html><html>'))).toBe(false);
    expect(looksLikeImage(Buffer.from('{"error":"nope"}'))).toBe(false);
  });
});
