// The TRON decoder reads transactions and infos printed the way java-tron prints them through
// fast paths (exact shapes matched piece by piece) and everything else through the general
// order-independent reader; both give the same result for the same bytes. Tests switch the fast
// paths off to compare. Worker code: no imports.

export const fastPaths = {
  enabled: true,
  /** Transactions and infos read by a fast path, for tests (a counter costs nothing here). */
  taken: 0,
};
