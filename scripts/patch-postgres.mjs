#!/usr/bin/env node
// Applied after every install (package.json "postinstall"): two guards in postgres.js 3.4.x's
// write scheduler, which upstream has not released (porsager/postgres issues 1066, 1154, 1208).
//
// 1. A write smaller than 1 KiB is sent from a setImmediate. When the connection closed in the
//    meantime (socket = null), that callback threw a TypeError no caller could catch, and the
//    process died. This happens whenever a transaction's connection drops while it runs: the
//    driver's own `rollback` is written to the dead connection. Settle sees it in every database
//    outage. Guarded: the write is dropped and whatever waits on the connection is rejected with
//    CONNECTION_CLOSED, a catchable error like any other outage error.
// 2. `closed()` and `terminate()` cancelled that setImmediate without forgetting it, so after a
//    reconnect the next small write (the start-up message) was never scheduled and the connection
//    hung until connect_timeout. Both now forget the timer and the dead connection's bytes.
//
// Each edit names the exact text it replaces; a driver whose source differs is reported (exit 0,
// so an install never fails on it) and `test/db/driver-guards.test.ts` fails until this is
// looked at again.

import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const MARK = '/* settle: guarded */';

const edits = [
  {
    what: 'nextWrite on a closed connection',
    from: `  function nextWrite(fn) {
    const x = socket.write(chunk, fn)`,
    to: `  function nextWrite(fn) {
    if (socket === null) { ${MARK}
      chunk = nextWriteTimer = null
      error(Errors.connection('CONNECTION_CLOSED', options))
      return false
    }
    const x = socket.write(chunk, fn)`,
  },
  {
    what: 'terminate() forgets the scheduled write',
    from: `    terminated = true
    if (stream || query || initial || sent.length)
      error(Errors.connection('CONNECTION_DESTROYED', options))

    clearImmediate(nextWriteTimer)`,
    to: `    terminated = true
    if (stream || query || initial || sent.length)
      error(Errors.connection('CONNECTION_DESTROYED', options))

    clearImmediate(nextWriteTimer)
    chunk = nextWriteTimer = null ${MARK}`,
  },
  {
    what: 'closed() forgets the scheduled write',
    from: `    incomings = null
    clearImmediate(nextWriteTimer)
    socket.removeListener('data', data)`,
    to: `    incomings = null
    clearImmediate(nextWriteTimer)
    chunk = nextWriteTimer = null ${MARK}
    socket.removeListener('data', data)`,
  },
];

export function patchPostgres(root = process.cwd()) {
  let entry;
  try {
    entry = createRequire(join(root, 'package.json')).resolve('postgres');
  } catch {
    return { patched: [], problems: ['postgres is not installed'] };
  }
  const patched = [];
  const problems = [];
  // The package ships the same source as ESM (src/) and CommonJS (cjs/src/).
  const packageRoot = join(dirname(entry), '..', entry.includes('/cjs/') ? '..' : '');
  for (const file of [join(packageRoot, 'src', 'connection.js'), join(packageRoot, 'cjs', 'src', 'connection.js')]) {
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const edit of edits) {
      if (text.includes(edit.to)) continue;
      if (!text.includes(edit.from)) {
        problems.push(`${file}: cannot apply "${edit.what}" (the driver's source changed)`);
        continue;
      }
      text = text.replace(edit.from, edit.to);
      patched.push(`${file}: ${edit.what}`);
    }
    writeFileSync(file, text);
  }
  return { patched, problems };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { patched, problems } = patchPostgres();
  for (const line of patched) console.log(`patch-postgres: ${line}`);
  for (const line of problems) console.warn(`patch-postgres: WARNING ${line}`);
}
