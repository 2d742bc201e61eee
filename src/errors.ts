/**
 * Every failure a caller can cause is one of these. `app.ts` turns them into the one JSON
 * shape `{"error":{"code","message",...details}}`; anything else is a bug and answers 500.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }

  toJSON() {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

/** A URL option (or a JSON transform field) that is unknown, duplicated or out of range. */
export class BadOptionError extends AppError {
  constructor(option: string, message: string, allowed?: string) {
    super(400, 'bad_option', message, allowed ? { option, allowed } : { option });
  }
}

/**
 * A `wm_` id the caller cannot use: no such image, one they may not see, or one deleted. One
 * wording for all three, wherever it is refused (plan, dry run, render), so the answer never tells
 * a private image from a missing one.
 */
export class WatermarkRefusedError extends BadOptionError {
  /** `preset`: the watermark is a preset's (t_…), whose id the caller may not see and is not told. */
  constructor(id: string, preset?: string) {
    super(
      'wm',
      preset === undefined ? `Watermark image ${id} does not exist` : `The watermark image of preset ${preset} no longer exists`,
      'the id of an image you can see',
    );
  }
}

export class BadRequestError extends AppError {
  constructor(message: string, details: Record<string, unknown> = {}, code = 'bad_request') {
    super(400, code, message, details);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'Authentication required', code = 'unauthorized', details: Record<string, unknown> = {}) {
    super(401, code, message, details);
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string, code = 'forbidden', details: Record<string, unknown> = {}) {
    super(403, code, message, details);
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'Not found', code = 'not_found') {
    super(404, code, message);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(409, 'conflict', message, details);
  }
}

/** The input is bigger than a configured limit (bytes, pixels, frames). */
export class TooLargeError extends AppError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(413, 'too_large', message, details);
  }
}

/**
 * The result a request asks for is over an output cap (MAX_OUTPUT_DIM, MAX_OUTPUT_PIXELS,
 * MAX_ANIMATION_PIXELS): the options are at fault, not the image, so 400 naming the limit and
 * the size the request would have produced.
 */
export class OutputTooLargeError extends AppError {
  constructor(message: string, details: { limit: string; max: number; width: number; height: number; frames?: number }) {
    super(400, 'output_too_large', message, details);
  }
}

export class UnsupportedMediaError extends AppError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(415, 'unsupported_media_type', message, details);
  }
}

/** Bytes that claim to be an image but that the decoder cannot read. */
export class CorruptImageError extends AppError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(422, 'corrupt_image', message, details);
  }
}

/**
 * An image's row says it has an original that storage no longer holds. Storage lost it, not the
 * caller: a 500 for the operator (logged where it is found).
 */
export class OriginalMissingError extends AppError {
  /** `id` of the image, or undefined for a watermark: its id may be a preset's, not the caller's to see. */
  constructor(id: string | undefined) {
    super(500, 'original_missing', `The original of ${id ?? 'the watermark image'} is missing from storage`);
  }
}

/**
 * An original that decoded at upload no longer does: its file was truncated or overwritten behind
 * the server's back. A 500, not the 415/422 of an upload: the caller sent nothing wrong. The
 * decoder's own words stay in the log (they may name a path).
 */
export class OriginalCorruptError extends AppError {
  /** `id` of the image, or undefined for a watermark (see OriginalMissingError). */
  constructor(id: string | undefined) {
    super(500, 'original_corrupt', `The original of ${id ?? 'the watermark image'} cannot be decoded`);
  }
}

export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number, headers: Record<string, string> = {}) {
    super(
      429,
      'rate_limited',
      `Too many requests; retry in ${retryAfterSeconds}s`,
      { retryAfter: retryAfterSeconds },
      {
        'Retry-After': String(retryAfterSeconds),
        ...headers,
      },
    );
  }
}

/** The server is at capacity (render queue full) or a render ran past its deadline. */
export class OverloadedError extends AppError {
  constructor(message = 'Server busy, try again shortly', retryAfterSeconds = 1, status = 503) {
    super(
      status,
      status === 504 ? 'render_timeout' : 'overloaded',
      message,
      { retryAfter: retryAfterSeconds },
      {
        'Retry-After': String(retryAfterSeconds),
      },
    );
  }
}

/** The image store (disk) failed to read or write: transient from the caller's view, so retry. */
export class StorageUnavailableError extends AppError {
  constructor(message = 'Image storage is unavailable, try again shortly') {
    super(503, 'storage_unavailable', message, { retryAfter: 5 }, { 'Retry-After': '5' });
  }
}

/**
 * A remote origin (ORIGINS) could not give us the file: unreachable, an error status, a redirect
 * out of the origin, or an address the SSRF guard refuses. The origin is at fault, not the caller.
 */
export class BadGatewayError extends AppError {
  constructor(message: string, code = 'origin_unavailable', details: Record<string, unknown> = {}) {
    super(502, code, message, details);
  }
}

/** A remote origin took longer than ORIGIN_TIMEOUT_MS to answer in full. */
export class GatewayTimeoutError extends AppError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(504, 'origin_timeout', message, { retryAfter: 5, ...details }, { 'Retry-After': '5' });
  }
}
