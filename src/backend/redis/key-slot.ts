/** Slots of a Redis Cluster: a key's hash tag (or whole name) through CRC16-XMODEM, modulo 16384. */
export const CLUSTER_SLOTS = 16384;

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
})();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ byte) & 0xff]!;
  return crc;
}

/** The slot Redis Cluster serves `key` from: that of its hash tag (`{...}`, when not empty), else of the whole key. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(Buffer.from(key, 'utf8')) % CLUSTER_SLOTS;
}

/**
 * A hash tag, starting with `base`, whose slot lies in the `part`-th of
 * `parts` equal ranges of slots. A cluster created the usual way gives each
 * master an equal range, so tags spread over the ranges spread over the
 * masters: with 3 parts, one per master on 3 masters.
 */
export function tagInSlotRange(base: string, part: number, parts: number): string {
  const from = Math.floor((part * CLUSTER_SLOTS) / parts);
  const to = Math.floor(((part + 1) * CLUSTER_SLOTS) / parts);
  for (let salt = 0; ; salt++) {
    const tag = `${base}${part}.${salt}`;
    const slot = keySlot(tag);
    if (slot >= from && slot < to) return tag;
  }
}
