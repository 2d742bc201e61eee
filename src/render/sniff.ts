/**
 * Image formats people upload that this server's libvips cannot read, recognised by their
 * magic bytes so the refusal can say which format it was instead of "not an image".
 */
const SIGNATURES: ReadonlyArray<{ name: string; test: (b: Buffer) => boolean }> = [
  { name: 'JPEG 2000', test: (b) => b.subarray(0, 12).equals(Buffer.from('0000000c6a5020200d0a870a', 'hex')) },
  { name: 'JPEG 2000', test: (b) => b.subarray(0, 4).equals(Buffer.from('ff4fff51', 'hex')) },
  {
    name: 'JPEG XL',
    test: (b) => b.subarray(0, 2).equals(Buffer.from('ff0a', 'hex')) || b.subarray(0, 12).equals(Buffer.from('0000000c4a584c200d0a870a', 'hex')),
  },
  { name: 'HEIC', test: (b) => b.subarray(4, 8).toString('latin1') === 'ftyp' && /^(heic|heix|hevc|hevx)$/.test(b.subarray(8, 12).toString('latin1')) },
  { name: 'BMP', test: (b) => b.subarray(0, 2).toString('latin1') === 'BM' && b.length > 26 },
  { name: 'ICO', test: (b) => b.subarray(0, 4).equals(Buffer.from('00000100', 'hex')) },
  { name: 'Photoshop (PSD)', test: (b) => b.subarray(0, 4).toString('latin1') === '8BPS' },
  { name: 'PDF', test: (b) => b.subarray(0, 5).toString('latin1') === '%PDF-' },
];

/** The name of a known format libvips here could not read, or undefined for unknown bytes. */
export function unreadableFormat(input: Buffer): string | undefined {
  return SIGNATURES.find((s) => s.test(input))?.name;
}
