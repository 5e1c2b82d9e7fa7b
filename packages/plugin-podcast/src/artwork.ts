import { crc32, deflateSync } from 'node:zlib';

const SIZE = 1400;

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * The channels' default artwork: a 1400 × 1400 PNG (the smallest square Apple Podcasts accepts),
 * drawn here so that nothing is fetched or shipped: three vertical bands, blue, white, red, under a
 * dark band with a microphone-like disc. Operators set PODCAST_IMAGE_URL for their own.
 */
export function defaultArtwork(): Buffer {
  const row = 1 + SIZE * 3;
  const raw = Buffer.alloc(row * SIZE);
  const cx = SIZE / 2;
  const cy = SIZE * 0.78;
  for (let y = 0; y < SIZE; y++) {
    raw[y * row] = 0; // filter: none
    for (let x = 0; x < SIZE; x++) {
      let rgb: [number, number, number];
      if (y >= SIZE * 0.62) {
        const inDisc = (x - cx) ** 2 + (y - cy) ** 2 < (SIZE * 0.11) ** 2;
        rgb = inDisc ? [240, 240, 240] : [24, 32, 56];
      } else if (x < SIZE / 3) rgb = [0, 35, 149];
      else if (x < (2 * SIZE) / 3) rgb = [255, 255, 255];
      else rgb = [237, 41, 57];
      raw.set(rgb, y * row + 1 + x * 3);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(SIZE, 0);
  ihdr.writeUInt32BE(SIZE, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}
