import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Config } from '../config.js';
import type { BlobStore, DirectUploadStore } from './store.js';

export interface S3StoreOptions {
  bucket: string;
  /** Unset for AWS itself; the URL of MinIO, R2, Swift's s3api, … otherwise. */
  endpoint?: string;
  region: string;
  /** Both or neither; neither means the AWS default chain (env, profile, instance role). */
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: boolean;
  /** Lets several deployments share one bucket; a missing trailing `/` is added. */
  prefix?: string;
  /** The endpoint browsers reach, for presigned URLs, when not `endpoint` (S3_PUBLIC_ENDPOINT). */
  publicEndpoint?: string;
}

/**
 * Originals in an S3-compatible bucket, so many stateless instances can share them.
 * One PutObject replaces the whole object at once, so `put` is atomic without temp keys.
 */
export class S3Store implements BlobStore, DirectUploadStore {
  readonly kind = 's3';
  readonly client: S3Client;
  /** Signs URLs for browsers; the same client unless S3_PUBLIC_ENDPOINT names another host (signing never connects). */
  private readonly signer: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(opts: S3StoreOptions) {
    this.bucket = opts.bucket;
    this.prefix = opts.prefix ? opts.prefix.replace(/\/*$/, '/') : '';
    const credentials = opts.accessKeyId && opts.secretAccessKey ? { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey } : undefined;
    this.client = S3Store.makeClient(opts, opts.endpoint, credentials);
    this.signer = opts.publicEndpoint ? S3Store.makeClient(opts, opts.publicEndpoint, credentials) : this.client;
  }

  private static makeClient(opts: S3StoreOptions, endpoint: string | undefined, credentials: { accessKeyId: string; secretAccessKey: string } | undefined) {
    return new S3Client({
      region: opts.region,
      endpoint,
      forcePathStyle: opts.forcePathStyle,
      credentials,
      // The SDK's default (CRC32 trailers, aws-chunked bodies) is refused by many S3-compatible
      // servers; content-addressed keys already let ingest verify the bytes.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // A hung store must fail the request, not pin a delivery slot forever.
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
    });
  }

  static fromConfig(config: Config) {
    if (!config.S3_BUCKET) throw new Error('S3_BUCKET is required when STORAGE=s3');
    return new S3Store({
      bucket: config.S3_BUCKET,
      endpoint: config.S3_ENDPOINT,
      region: config.S3_REGION,
      accessKeyId: config.S3_ACCESS_KEY_ID,
      secretAccessKey: config.S3_SECRET_ACCESS_KEY,
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
      prefix: config.S3_PREFIX,
      publicEndpoint: config.S3_PUBLIC_ENDPOINT,
    });
  }

  private key(key: string) {
    // S3 keys are opaque, but proxies and some S3-compatible servers normalise `..` in URL
    // paths, which could reach outside S3_PREFIX; keys are ours (hex hashes), so refuse them.
    if (!key || key.startsWith('/') || key.split('/').some((part) => part === '..' || part === '.' || part === '')) {
      throw new Error(`invalid storage key ${key}`);
    }
    return this.prefix + key;
  }

  async get(key: string) {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return Buffer.from(await res.Body!.transformToByteArray());
    } catch (err) {
      // NoSuchBucket is a 404 too, but it is a misconfiguration, not a missing original.
      if (err instanceof S3ServiceException && (err.name === 'NoSuchKey' || (status(err) === 404 && err.name !== 'NoSuchBucket'))) {
        return undefined;
      }
      throw err;
    }
  }

  async put(key: string, data: Buffer) {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: data, ContentLength: data.length }));
  }

  /** S3 answers 204 for a missing key too, so deleting twice is fine. */
  async delete(key: string) {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
  }

  async has(key: string) {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return true;
    } catch (err) {
      if (err instanceof S3ServiceException && status(err) === 404) return false;
      throw err;
    }
  }

  /**
   * Content-Type and Content-Length are signed headers, so S3 refuses (403 SignatureDoesNotMatch) a
   * PUT of any other type or length. That is an exact length, not a maximum: a presigned PUT cannot
   * say "at most N bytes" (only a presigned POST policy's content-length-range can, and Swift's
   * s3api does not implement POST Object), so the reader checks the size again with stat().
   */
  async presignPut(key: string, opts: { contentType: string; contentLength: number; expiresIn: number; signedAt: Date }) {
    const command = new PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), ContentType: opts.contentType, ContentLength: opts.contentLength });
    return getSignedUrl(this.signer, command, {
      expiresIn: opts.expiresIn,
      signingDate: opts.signedAt,
      signableHeaders: new Set(['content-type', 'content-length']),
    });
  }

  async stat(key: string) {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return { size: head.ContentLength ?? 0, etag: head.ETag ?? '' };
    } catch (err) {
      if (err instanceof S3ServiceException && status(err) === 404 && err.name !== 'NoSuchBucket') return undefined;
      throw err;
    }
  }

  async getIfMatch(key: string, etag: string) {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key), IfMatch: etag }));
      return Buffer.from(await res.Body!.transformToByteArray());
    } catch (err) {
      if (err instanceof S3ServiceException && status(err) === 412) return 'changed' as const;
      if (err instanceof S3ServiceException && (err.name === 'NoSuchKey' || (status(err) === 404 && err.name !== 'NoSuchBucket'))) return 'missing' as const;
      throw err;
    }
  }

  /**
   * HeadBucket proves the endpoint answers, the credentials are valid and the bucket exists.
   * A write probe would prove more, but /readyz is polled every few seconds and each probe
   * would be three billed requests.
   */
  async check() {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      // HEAD answers have no body, so the SDK's own message is just "UnknownError".
      const why = err instanceof S3ServiceException ? `${err.name} (HTTP ${status(err)})` : String(err);
      throw new Error(`S3 bucket ${this.bucket} not reachable: ${why}`, { cause: err });
    }
  }

  /** Closes the HTTP agent's idle sockets (tests, graceful shutdown). */
  destroy() {
    this.client.destroy();
    if (this.signer !== this.client) this.signer.destroy();
  }
}

function status(err: S3ServiceException) {
  return err.$metadata?.httpStatusCode;
}
