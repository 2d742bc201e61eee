/**
 * Output quality next to speed, so a faster miss is never bought with worse images unnoticed:
 * SSIM of a rendition against a lossless resize of the same source to the same size (luma, 8x8
 * windows every 4 px, the usual constants), and its size.
 */
import sharp from 'sharp';

async function luma(input: Buffer, width: number, height: number): Promise<Buffer> {
  return sharp(input).resize(width, height, { fit: 'fill' }).greyscale().raw().toBuffer();
}

export function ssim(a: Buffer, b: Buffer, width: number, height: number, win = 8, step = 4): number {
  const C1 = (0.01 * 255) ** 2;
  const C2 = (0.03 * 255) ** 2;
  let total = 0;
  let count = 0;
  for (let y = 0; y + win <= height; y += step) {
    for (let x = 0; x + win <= width; x += step) {
      let sa = 0;
      let sb = 0;
      let saa = 0;
      let sbb = 0;
      let sab = 0;
      for (let j = 0; j < win; j++) {
        const row = (y + j) * width + x;
        for (let i = 0; i < win; i++) {
          const va = a[row + i];
          const vb = b[row + i];
          sa += va;
          sb += vb;
          saa += va * va;
          sbb += vb * vb;
          sab += va * vb;
        }
      }
      const n = win * win;
      const ma = sa / n;
      const mb = sb / n;
      const va = saa / n - ma * ma;
      const vb = sbb / n - mb * mb;
      const cov = sab / n - ma * mb;
      total += ((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
      count++;
    }
  }
  return total / count;
}

/** SSIM of `output` against `source` resized losslessly to the output's size. */
export async function ssimAgainstSource(source: Buffer, output: Buffer): Promise<number> {
  const { width, height } = await sharp(output).metadata();
  const reference = await sharp(source, { autoOrient: true }).resize(width, height, { fit: 'fill' }).png().toBuffer();
  return ssim(await luma(reference, width!, height!), await luma(output, width!, height!), width!, height!);
}
