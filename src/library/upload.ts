import type { Context } from 'hono';
import type { Deps } from '../deps.js';
import { BadRequestError, TooLargeError } from '../errors.js';
import { uploadFieldsSchema } from './schemas.js';
import type { z } from '@hono/zod-openapi';

/**
 * Reading an upload without trusting the client: a Content-Length over the limit is refused
 * before a byte is read, and a body without one (chunked) is cut off as soon as it passes
 * the limit, so memory never holds more than MAX_UPLOAD_MB (plus multipart framing).
 */

/** Multipart framing and the small text fields around the file. */
const MULTIPART_SLACK = 64 * 1024;

export interface Upload {
  bytes: Buffer;
  filename?: string;
  fields: Fields;
}

export function uploadLimit(deps: Deps) {
  return deps.config.limits.maxUploadBytes;
}

function tooLarge(limit: number): never {
  throw new TooLargeError(`Upload exceeds MAX_UPLOAD_MB (${limit} bytes)`, { limit });
}

export async function readLimited(req: Request, limit: number): Promise<Buffer> {
  const declared = req.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) tooLarge(limit);
  if (!req.body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      tooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

function validFields(raw: Record<string, unknown>) {
  const parsed = uploadFieldsSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new BadRequestError(`Invalid request: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues }, 'validation_failed');
  }
  return parsed.data;
}

type Fields = z.infer<typeof uploadFieldsSchema>;

/**
 * multipart/form-data with a `file` (or `image`) part (fields as parts), or the image itself as the body.
 * `query` holds the already validated query-string fields; multipart parts override them.
 */
export async function readUpload(deps: Deps, c: Context, query: Fields): Promise<Upload> {
  const type = c.req.header('content-type') ?? '';
  const limit = uploadLimit(deps);
  if (/^multipart\/form-data/i.test(type)) {
    const body = await readLimited(c.req.raw, limit + MULTIPART_SLACK);
    let form: FormData;
    try {
      form = await new Response(body, { headers: { 'content-type': type } }).formData();
    } catch {
      throw new BadRequestError('Malformed multipart body', {}, 'bad_multipart');
    }
    // `image` is the name roadmap.sh clients give the part. One image per upload: a second would be
    // dropped without a word, so two are refused.
    const files = [...form.getAll('file'), ...form.getAll('image')].filter((part) => part instanceof Blob);
    if (files.length > 1)
      throw new BadRequestError(
        `One image per upload: this one has ${files.length} "file"/"image" parts; send one request per image`,
        { field: 'file' },
        'too_many_files',
      );
    const file = files[0];
    if (!(file instanceof Blob))
      throw new BadRequestError('Multipart uploads need a "file" (or "image") part holding the image', { field: 'file' }, 'missing_file');
    const text = (name: string) => {
      const v = form.get(name);
      return typeof v === 'string' ? v : undefined;
    };
    const tags = form.getAll('tags').filter((t): t is string => typeof t === 'string');
    const parts = validFields({
      tags: tags.length ? tags : undefined,
      collection: text('collection'),
      visibility: text('visibility'),
      publicId: text('publicId'),
      filename: file instanceof File && file.name ? file.name : undefined,
    });
    const bytes = Buffer.from(await file.arrayBuffer());
    if (bytes.length > limit) tooLarge(limit);
    if (bytes.length === 0) throw new BadRequestError('The "file" part is empty: it holds no image bytes', { field: 'file' }, 'empty_body');
    const { filename, ...fields } = { ...query, ...definedOnly(parts) };
    return { bytes, filename, fields };
  }
  const bytes = await readLimited(c.req.raw, limit);
  if (bytes.length === 0)
    throw new BadRequestError('Empty body: send the image bytes, or multipart/form-data with a "file" (or "image") part', {}, 'empty_body');
  return { bytes, filename: query.filename, fields: query };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
