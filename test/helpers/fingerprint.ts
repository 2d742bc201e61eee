import sharp, { type Sharp } from 'sharp';

/**
 * Perceptual fingerprints for comparing renders: a dHash (9×8 greyscale, one bit per
 * horizontal gradient) survives re-encoding and libvips upgrades, unlike byte equality.
 */
export async function dhash(image: Buffer | Sharp): Promise<bigint> {
  const pipeline = Buffer.isBuffer(image) ? sharp(image) : image;
  const px = await pipeline.flatten({ background: '#808080' }).greyscale().resize(9, 8, { fit: 'fill' }).raw().toBuffer();
  let hash = 0n;
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      hash = (hash << 1n) | (px[y * 9 + x] > px[y * 9 + x + 1] ? 1n : 0n);
    }
  }
  return hash;
}

export function hamming(a: bigint, b: bigint): number {
  let v = a ^ b;
  let n = 0;
  while (v) {
    n += Number(v & 1n);
    v >>= 1n;
  }
  return n;
}

/** Bits (of 64) by which two images differ; ≤ 6 is "the same picture", ≥ 16 "clearly different". */
export async function distance(a: Buffer | Sharp, b: Buffer | Sharp): Promise<number> {
  return hamming(await dhash(a), await dhash(b));
}

/** RGBA of one pixel (sRGB, alpha 255 when the image has none). */
export async function pixel(image: Buffer, x: number, y: number): Promise<[number, number, number, number]> {
  const { data, info } = await sharp(image).toColourspace('srgb').ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [data[i], data[i + 1], data[i + 2], data[i + 3]];
}

/** Mean absolute difference per channel (0..255) of two same-sized images. */
export async function meanDiff(a: Buffer, b: Buffer): Promise<number> {
  const raw = (img: Buffer) => sharp(img).toColourspace('srgb').removeAlpha().raw().toBuffer();
  const [x, y] = await Promise.all([raw(a), raw(b)]);
  if (x.length !== y.length) throw new Error('meanDiff needs images of the same size');
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.abs(x[i] - y[i]);
  return sum / x.length;
}
