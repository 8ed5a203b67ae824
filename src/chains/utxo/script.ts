// Output script classification and the AddressIndex key format of the UTXO family.
//
// Key format: one type byte, then the hash or witness program the script commits to:
//   0x01 P2PKH  + hash160 (20)      script 76 a9 14 <20> 88 ac
//   0x02 P2SH   + hash160 (20)      script a9 14 <20> 87
//   0x03 P2WPKH + hash160 (20)      script 00 14 <20>
//   0x04 P2WSH  + sha256 (32)       script 00 20 <32>
//   0x05 P2TR   + x-only key (32)   script 51 20 <32>
// so keys are 21 or 33 bytes. The same hash under two script types is two different keys (two
// different addresses). The body of a key is a contiguous range of the script, which lets the
// decoder look keys up straight from block bytes (IndexView.hasTaggedKey) without building them.
// Other scripts (bare multisig, P2PK, OP_RETURN, other witness versions, MWEB HogAddr) have no key:
// deposit addresses never use them.

export const KEY_NONE = 0;
export const KEY_P2PKH = 1;
export const KEY_P2SH = 2;
export const KEY_P2WPKH = 3;
export const KEY_P2WSH = 4;
export const KEY_P2TR = 5;

export type KeyType = typeof KEY_P2PKH | typeof KEY_P2SH | typeof KEY_P2WPKH | typeof KEY_P2WSH | typeof KEY_P2TR;

export const KEY_BYTES_MAX = 33;

/** Offset of the key body within the script, per key type (index = type). */
export const KEY_BODY_OFFSET = [0, 3, 2, 2, 2, 2] as const;
/** Length of the key body, per key type (index = type). */
export const KEY_BODY_LENGTH = [0, 20, 20, 20, 32, 32] as const;

export const KEY_TYPE_NAMES = ['other', 'p2pkh', 'p2sh', 'p2wpkh', 'p2wsh', 'p2tr'] as const;

/** Key type of the script bytes[at, at+length), KEY_NONE when it has none. Hot path: a few
 * byte comparisons, no allocation. */
export function classifyScript(bytes: Uint8Array, at: number, length: number): number {
  const b0 = bytes[at] as number;
  switch (length) {
    case 22:
      return b0 === 0x00 && bytes[at + 1] === 0x14 ? KEY_P2WPKH : KEY_NONE;
    case 34:
      if (bytes[at + 1] !== 0x20) return KEY_NONE;
      return b0 === 0x00 ? KEY_P2WSH : b0 === 0x51 ? KEY_P2TR : KEY_NONE;
    case 25:
      return b0 === 0x76 && bytes[at + 1] === 0xa9 && bytes[at + 2] === 0x14 && bytes[at + 23] === 0x88 && bytes[at + 24] === 0xac
        ? KEY_P2PKH
        : KEY_NONE;
    case 23:
      return b0 === 0xa9 && bytes[at + 1] === 0x14 && bytes[at + 22] === 0x87 ? KEY_P2SH : KEY_NONE;
    default:
      return KEY_NONE;
  }
}

/** The index key of a script, or undefined when the script has none. */
export function scriptToKey(script: Uint8Array): Uint8Array | undefined {
  const type = classifyScript(script, 0, script.length);
  if (type === KEY_NONE) return undefined;
  const bodyAt = KEY_BODY_OFFSET[type] as number;
  const key = new Uint8Array(1 + (KEY_BODY_LENGTH[type] as number));
  key[0] = type;
  key.set(script.subarray(bodyAt, bodyAt + key.length - 1), 1);
  return key;
}

/** The script a key stands for (inverse of scriptToKey). */
export function keyToScript(key: Uint8Array): Uint8Array {
  const type = key[0] as number;
  const bodyLength = KEY_BODY_LENGTH[type];
  if (bodyLength === undefined || type === KEY_NONE || key.length !== 1 + bodyLength) {
    throw new TypeError(`not a utxo index key (type ${type}, ${key.length} bytes)`);
  }
  const body = key.subarray(1);
  switch (type) {
    case KEY_P2PKH:
      return Uint8Array.from([0x76, 0xa9, 0x14, ...body, 0x88, 0xac]);
    case KEY_P2SH:
      return Uint8Array.from([0xa9, 0x14, ...body, 0x87]);
    case KEY_P2WPKH:
      return Uint8Array.from([0x00, 0x14, ...body]);
    case KEY_P2WSH:
      return Uint8Array.from([0x00, 0x20, ...body]);
    default:
      return Uint8Array.from([0x51, 0x20, ...body]);
  }
}

/** Witness version and program of a segwit output script (BIP141: OP_0..OP_16 then one push of
 * 2..40 bytes), or undefined. */
export function witnessProgram(bytes: Uint8Array, at: number, length: number): { version: number; programAt: number; programLength: number } | undefined {
  if (length < 4 || length > 42) return undefined;
  const op = bytes[at] as number;
  if (op !== 0x00 && (op < 0x51 || op > 0x60)) return undefined;
  if ((bytes[at + 1] as number) !== length - 2) return undefined;
  return { version: op === 0 ? 0 : op - 0x50, programAt: at + 2, programLength: length - 2 };
}

/** BIP34 block height from the coinbase scriptSig (first push), or null when it is not a
 * minimal-push number (blocks before BIP34). */
export function coinbaseHeight(bytes: Uint8Array, scriptAt: number, scriptLength: number): number | null {
  if (scriptLength < 1) return null;
  const op = bytes[scriptAt] as number;
  if (op >= 0x51 && op <= 0x60) return op - 0x50; // OP_1..OP_16 (regtest heights)
  if (op < 1 || op > 4 || op + 1 > scriptLength) return null;
  let height = 0;
  for (let i = op; i >= 1; i--) height = height * 256 + (bytes[scriptAt + i] as number);
  return height;
}
