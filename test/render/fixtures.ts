import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const sample = (name: string) => readFileSync(fileURLToPath(new URL(`../../samples/${name}`, import.meta.url)));

export const samples = {
  sunset: sample('sunset-12mp.jpg'), // 4272x2848
  portrait: sample('friends-portrait.jpg'), // 2056x3088
  dune: sample('dune-2mp.jpg'), // 1680x1050
  dragonfly: sample('dragonfly-alpha.png'), // 1000x750 RGBA
};

export const LIMITS = { maxInputPixels: 100_000_000, maxFrames: 200, maxOutputDim: 8192, maxOutputPixels: 50_000_000, maxAnimationPixels: 25_000_000 };

/** An animated GIF of `frames` solid-colour 64x48 frames (a vertical strip with pageHeight). */
export async function animatedGif(frames = 4, width = 64, height = 48): Promise<Buffer> {
  const strip = Buffer.alloc(width * height * frames * 3);
  for (let f = 0; f < frames; f++) {
    const colour = [(f * 97) % 256, (f * 53 + 80) % 256, (f * 31 + 160) % 256];
    for (let i = 0; i < width * height; i++) strip.set(colour, (f * width * height + i) * 3);
  }
  return sharp(strip, { raw: { width, height: height * frames, channels: 3, pageHeight: height } })
    .gif({ delay: Array(frames).fill(100), loop: 0 })
    .toBuffer();
}

/** The dune photo stored sideways with EXIF orientation 6 (displayed: rotate 90° clockwise), plus GPS. */
export async function orientedJpeg(): Promise<Buffer> {
  // Stored as 250x400 (turned a quarter left); orientation 6 turns it back to 400x250 on display.
  const sideways = await sharp(samples.dune).resize(400).rotate(270).toBuffer();
  return sharp(sideways)
    .withMetadata({ orientation: 6 })
    .withExif({ IFD0: { Copyright: 'imgpath test' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1' } })
    .jpeg()
    .toBuffer();
}

export async function cmykJpeg(): Promise<Buffer> {
  return sharp(samples.dune).resize(300).toColourspace('cmyk').jpeg().toBuffer();
}
