import { AppError, BadRequestError, CorruptImageError, TooLargeError, UnsupportedMediaError } from '../errors.js';

/**
 * Everything sharp/libvips throws while working on user-supplied bytes or options becomes a
 * typed 4xx here, so a hostile image or an odd option combination can never answer 500.
 */
export function toAppError(err: unknown, stage: 'decode' | 'render'): AppError {
  if (err instanceof AppError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const first = message.split('\n')[0] ?? message;
  if (/pixel limit/i.test(message)) {
    return new TooLargeError(`The image has more pixels than MAX_INPUT_PIXELS allows: ${first}`, { limit: 'MAX_INPUT_PIXELS' });
  }
  if (/too large for the \w+ format|exceeds .*pixel/i.test(message)) {
    return new TooLargeError(`The result is too large: ${first}`);
  }
  if (/unsupported image format|buffer is empty|bad seek|not a known file format/i.test(message)) {
    return new UnsupportedMediaError('The bytes are not an image in a supported format');
  }
  if (stage === 'decode' || /load|premature|corrupt|truncated|invalid|read error|decode|VipsJpeg|gifload|pngload|webp|heif|Input/i.test(message)) {
    // `first` is libvips' own words (e.g. "VipsJpeg: premature end of JPEG image"): the warning that failed a strict decode.
    return new CorruptImageError(`The image cannot be decoded: ${first}`, { decoder: first });
  }
  return new BadRequestError(`The image cannot be rendered with these options: ${first}`, {}, 'render_failed');
}

export async function guard<T>(stage: 'decode' | 'render', work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw toAppError(err, stage);
  }
}
