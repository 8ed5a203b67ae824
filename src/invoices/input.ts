// What invoice input must satisfy before it reaches Postgres, beyond its JSON type: text that
// Postgres can store (no NUL, which text and jsonb refuse; no lone UTF-16 surrogate, which jsonb
// refuses and text would store as U+FFFD), metadata nested no deeper than the code that copies it
// can recurse, and instants inside the range both JavaScript and Postgres represent alike.
// Pure functions: the API turns each problem into a 400 naming the field.

/** Deepest nesting of objects and arrays accepted in an invoice's metadata. */
export const METADATA_DEPTH_MAX = 32;

/** Instants given to or decoded by the API must lie in years 0001..9999 (UTC): ISO 8601 with four
 * digits, which Postgres timestamptz and Date agree on (Postgres has no year 0; Date goes past 9999). */
export const INSTANT_MIN_MS = Date.parse('0001-01-01T00:00:00.000Z');
export const INSTANT_MAX_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** Why `text` cannot be stored as Postgres text or inside jsonb, or undefined when it can. */
export function textProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'may not contain the NUL character (\\u0000)';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0xd800 || unit > 0xdfff) continue;
    const next = text.charCodeAt(i + 1);
    if (unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      i++;
      continue;
    }
    return 'may not contain a lone UTF-16 surrogate (\\ud800-\\udfff without its pair)';
  }
  return undefined;
}

export interface JsonProblem {
  /** Path below the value, e.g. ['order', 'lines', '3']; empty for the value itself. */
  path: string[];
  message: string;
}

/** The first problem of a parsed JSON value: too deep, or (unless `depthOnly`) a key or string
 * `textProblem` refuses. Walks with an explicit stack: the value may be nested far deeper than the
 * call stack allows. */
export function jsonProblem(value: unknown, depthMax: number, depthOnly = false): JsonProblem | undefined {
  const stack: Array<{ value: unknown; path: string[]; depth: number }> = [{ value, path: [], depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop() as { value: unknown; path: string[]; depth: number };
    if (typeof item.value === 'string' && !depthOnly) {
      const problem = textProblem(item.value);
      if (problem !== undefined) return { path: item.path, message: problem };
      continue;
    }
    if (item.value === null || typeof item.value !== 'object') continue;
    // Depth counts containers: {} is 1, {"a":{}} is 2.
    if (item.depth + 1 > depthMax) return { path: item.path, message: `nested deeper than ${depthMax} levels` };
    const entries = Array.isArray(item.value) ? item.value.map((v, i) => [String(i), v] as const) : Object.entries(item.value);
    for (const [key, child] of entries) {
      const keyProblem = depthOnly ? undefined : textProblem(key);
      if (keyProblem !== undefined) return { path: item.path, message: `a key ${keyProblem}` };
      stack.push({ value: child, path: [...item.path, key], depth: item.depth + 1 });
    }
  }
  return undefined;
}

/** Whether an instant (ms since the epoch) is in the range the API accepts. */
export function instantInRange(ms: number): boolean {
  return Number.isFinite(ms) && ms >= INSTANT_MIN_MS && ms <= INSTANT_MAX_MS;
}
