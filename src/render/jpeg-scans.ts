/**
 * A JPEG's frame and scans, read from its markers without decoding: enough to tell a progressive
 * JPEG whose coefficients a lossless transcode to baseline keeps exactly (see originals-cache.ts).
 */

/** SOFn markers that are not progressive Huffman (baseline, extended, lossless, arithmetic…). */
const OTHER_SOF = new Set([0xc0, 0xc1, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);
const PROGRESSIVE_HUFFMAN = 0xc2;

interface Segment {
  marker: number;
  /** Offset of the segment's body (after its length field). */
  body: number;
  /** Bytes of the body. */
  length: number;
}

/**
 * The marker segments of a JPEG in order, stepping over fill bytes, restarts and the entropy-coded
 * data after each SOS; ends at EOI, at the end of `buf` (which may be only the head of a file) or
 * at the first byte that is not a marker (then `broken` is set on the iterator's return value).
 */
function* segments(buf: Buffer): Generator<Segment, { broken: boolean }> {
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) return { broken: true };
  let pos = 2;
  while (pos + 4 <= buf.length) {
    if (buf[pos] !== 0xff) return { broken: true };
    const marker = buf[pos + 1];
    if (marker === 0xff) {
      pos++; // fill byte
      continue;
    }
    if (marker === 0xd9) break; // EOI
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2;
      continue;
    }
    const length = buf.readUInt16BE(pos + 2) - 2;
    const body = pos + 4;
    if (body + length > buf.length) return { broken: true };
    yield { marker, body, length };
    pos = body + length;
    if (marker === 0xda) {
      // Entropy-coded data runs to the next marker that is not a stuffed 0x00 or a restart.
      let next = buf.indexOf(0xff, pos);
      while (next !== -1 && next + 1 < buf.length && (buf[next + 1] === 0x00 || (buf[next + 1] >= 0xd0 && buf[next + 1] <= 0xd7) || buf[next + 1] === 0xff)) {
        next = buf.indexOf(0xff, next + 1);
      }
      if (next === -1) return { broken: true };
      pos = next;
    }
  }
  return { broken: false };
}

/**
 * From the first bytes of a JPEG: true when its frame is progressive Huffman (it may get a baseline
 * copy), false when it is any other frame, undefined when the head ends before the frame header.
 */
export function startsProgressive(head: Buffer): boolean | undefined {
  for (const { marker } of segments(head)) {
    if (marker === PROGRESSIVE_HUFFMAN) return true;
    if (OTHER_SOF.has(marker)) return false;
  }
  return undefined;
}

/**
 * True for an 8-bit progressive Huffman JPEG of 1 or 3 components whose scans bring every
 * coefficient of every component down to its last bit (Al = 0). Only then does its decode equal a
 * baseline decode of the same coefficients: libjpeg smooths the blocks of a progressive image whose
 * low coefficients are still incomplete, which a baseline file cannot express.
 */
export function isCompleteProgressiveJpeg(buf: Buffer): boolean {
  let components: number[] | undefined;
  // Per component id: the smallest Al any scan reached for each of the 64 coefficients (99: never scanned).
  const lowest = new Map<number, Uint8Array>();
  const walk = segments(buf);
  for (let step = walk.next(); ; step = walk.next()) {
    if (step.done) {
      if (step.value.broken) return false;
      break;
    }
    const { marker, body } = step.value;
    if (OTHER_SOF.has(marker)) return false;
    if (marker === PROGRESSIVE_HUFFMAN) {
      if (buf[body] !== 8) return false;
      const n = buf[body + 5];
      if (n !== 1 && n !== 3) return false;
      components = Array.from({ length: n }, (_, i) => buf[body + 6 + i * 3]);
      for (const id of components) lowest.set(id, new Uint8Array(64).fill(99));
    }
    if (marker === 0xda) {
      if (!components) return false;
      const n = buf[body];
      const ss = buf[body + 1 + n * 2];
      const se = buf[body + 2 + n * 2];
      const al = buf[body + 3 + n * 2] & 0x0f;
      for (let i = 0; i < n; i++) {
        const bits = lowest.get(buf[body + 1 + i * 2]);
        if (!bits || se > 63 || ss > se) return false;
        for (let k = ss; k <= se; k++) bits[k] = Math.min(bits[k], al);
      }
    }
  }
  if (!components) return false;
  return [...lowest.values()].every((bits) => bits.every((al) => al === 0));
}
