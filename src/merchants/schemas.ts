// What a merchant and an API key are created with, parsed once at every boundary that creates them
// (today the CLI; the API's callback URL is the same CallbackUrl). The database's checks are the
// last line, not the first: nothing reaches them that these schemas refuse.

import { z } from 'zod';
import { canonicalAddress } from '../webhooks/addresses.ts';

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** Same rule as the merchants table's check. */
export const MerchantId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, "_" or "-"');

export const MerchantName = z.string().min(1).max(200).refine((name) => !CONTROL_CHARACTERS.test(name), 'must not contain control characters');

export const ApiKeyLabel = z.string().max(200).refine((label) => !CONTROL_CHARACTERS.test(label), 'must not contain control characters');

/**
 * An address a key may be used from, stored in the canonical form Node reports for a peer
 * (`2001:DB8::7` is kept as `2001:db8::7`), because the allow-list is compared by text.
 */
export const ApiKeyIp = z.string().transform((text, context) => {
  const address = canonicalAddress(text);
  if (address === undefined) {
    context.addIssue({ code: 'custom', message: 'must be one IP address like 203.0.113.7 or 2001:db8::7' });
    return z.NEVER;
  }
  return address;
});

/** A browser Origin exactly as browsers send it: scheme, host and port only; no "*", no path. */
export const ApiKeyOrigin = z.string().refine((text) => {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === text;
  } catch {
    return false;
  }
}, 'must be an Origin like https://shop.example (scheme, host and port only, as browsers send it)');
