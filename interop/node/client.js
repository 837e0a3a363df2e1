'use strict';

// client.js URL [DEFLATE] - the node `ws` peer client for hybi interop tests.
//
// Runs the interop checks against the echo server at URL (see
// interop/README.md for what the server must do), one connection per check,
// and prints one "PASS name" or "FAIL name: why" line per check. Exits 0 only
// if every check passed.
//
// DEFLATE, JSON, is ws's perMessageDeflate option (true or an object, e.g.
// {"threshold":0,"clientNoContextTakeover":true}). With it every connection
// must agree permessage-deflate, the largest echo is 1 MiB instead of 16 MiB,
// and one more check echoes a compressible 1 MiB text at URL + ?measure=1.

const WebSocket = require('ws');
const common = require('./common');

const base = process.argv[2];
if (!base) {
  process.stderr.write('usage: node client.js ws://HOST:PORT/PATH [DEFLATE]\n');
  process.exit(2);
}
const deflate = common.deflateConfig(process.argv[3]);

const CHECK_TIMEOUT_MS = 60000;
// Compressing 16 MiB several times per configuration would be slow.
const SIZES = [0, 125, 126, 65535, 65536, deflate ? 1 << 20 : 16 << 20];

// The first connection prints the server's extension response, for the log.
let printedExtensions = false;

// Conn wraps a WebSocket with a queue so a check can await messages in order.
class Conn {
  constructor(url) {
    // Without DEFLATE the default client still offers permessage-deflate; a
    // server without it must decline the offer (RFC 6455, Section 9.1),
    // which is part of the test.
    const opts = { maxPayload: 64 << 20 };
    if (deflate) opts.perMessageDeflate = deflate;
    this.ws = new WebSocket(url, opts);
    this.ws.once('upgrade', (res) => {
      if (!printedExtensions) {
        printedExtensions = true;
        const ext = res.headers['sec-websocket-extensions'];
        process.stdout.write(`extensions: ${ext === undefined ? '(none)' : ext}\n`);
      }
    });
    this.queue = [];
    this.waiters = [];
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString('utf8') });
        this._flush();
      });
    });
    this.ws.on('message', (data, isBinary) => {
      this.queue.push({ data, isBinary });
      this._flush();
    });
    this.ws.on('error', (err) => {
      this.error = err;
      this._flush();
    });
  }

  async open() {
    await new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    });
    if (deflate && !this.ws.extensions.split(',').includes('permessage-deflate')) {
      this.ws.terminate();
      throw new Error(`permessage-deflate not agreed (extensions ${JSON.stringify(this.ws.extensions)})`);
    }
  }

  _flush() {
    while (this.waiters.length > 0) {
      if (this.queue.length > 0) {
        this.waiters.shift().resolve(this.queue.shift());
      } else if (this.error || this.ws.readyState === WebSocket.CLOSED) {
        const why = this.error ? this.error.message : 'connection closed';
        this.waiters.shift().reject(new Error(why));
      } else {
        return;
      }
    }
  }

  next() {
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this._flush();
    });
  }

  // close runs the closing handshake and returns the server's code/reason.
  async close(code, reason) {
    this.ws.close(code, reason);
    return this.closed;
  }
}

async function dial(url) {
  const c = new Conn(url || base);
  await c.open();
  return c;
}

function payload(n, binary) {
  const b = Buffer.alloc(n);
  if (binary) {
    for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  } else {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    for (let i = 0; i < n; i++) b[i] = alphabet.charCodeAt(i % alphabet.length);
  }
  return b;
}

function expectMessage(got, want, binary) {
  if (got.isBinary !== binary) {
    throw new Error(`got ${got.isBinary ? 'binary' : 'text'} message, want ${binary ? 'binary' : 'text'}`);
  }
  if (!Buffer.from(got.data).equals(want)) {
    throw new Error(`payload mismatch: got ${got.data.length} bytes, want ${want.length}`);
  }
}

async function expectNormalClose(c) {
  const { code } = await c.close(1000, '');
  if (code !== 1000) throw new Error(`server answered close with ${code}, want 1000`);
}

const checks = [];

for (const binary of [false, true]) {
  for (const n of SIZES) {
    checks.push([`echo ${binary ? 'binary' : 'text'} ${n}`, async () => {
      const c = await dial();
      const want = payload(n, binary);
      c.ws.send(want, { binary });
      expectMessage(await c.next(), want, binary);
      await expectNormalClose(c);
    }]);
  }
}

checks.push(['echo utf8', async () => {
  const c = await dial();
  c.ws.send(common.UTF8_TEXT);
  const got = await c.next();
  if (got.isBinary || got.data.toString('utf8') !== common.UTF8_TEXT) {
    throw new Error(`got ${JSON.stringify(got.data.toString('utf8'))}, want ${JSON.stringify(common.UTF8_TEXT)}`);
  }
  await expectNormalClose(c);
}]);

if (deflate) {
  checks.push([`echo compressible ${common.COMPRESSIBLE_SIZE}`, async () => {
    // The hybi server counts this connection's bytes on the wire.
    const u = new URL(base);
    u.searchParams.set('measure', '1');
    const c = await dial(u.toString());
    const want = common.compressibleText();
    c.ws.send(want);
    const got = await c.next();
    if (got.isBinary || got.data.length !== want.length || got.data.toString('utf8') !== want) {
      throw new Error(`got a ${got.isBinary ? 'binary' : 'text'} message of ${got.data.length} bytes, want the ${want.length}-byte text`);
    }
    await expectNormalClose(c);
  }]);
}

// Each message is compressed on its own with DEFLATE: fewer then.
const PIPELINED = deflate ? 100 : 1000;

checks.push([`pipelined ${PIPELINED}`, async () => {
  const c = await dial();
  // Every send is queued before the first echo is read.
  for (let i = 0; i < PIPELINED; i++) c.ws.send(`msg ${i}`, { binary: i % 2 === 1 });
  for (let i = 0; i < PIPELINED; i++) {
    expectMessage(await c.next(), Buffer.from(`msg ${i}`), i % 2 === 1);
  }
  await expectNormalClose(c);
}]);

checks.push(['ping pong', async () => {
  const c = await dial();
  const want = Buffer.from('hybi-ping-42');
  const pong = new Promise((resolve) => c.ws.once('pong', resolve));
  c.ws.ping(want);
  const got = await pong;
  if (!got.equals(want)) throw new Error(`pong payload ${JSON.stringify(got.toString())}, want ${JSON.stringify(want.toString())}`);
  await expectNormalClose(c);
}]);

checks.push(['fragmented text', async () => {
  const c = await dial();
  const { whole, pieces } = common.fragmentText();
  common.sendFragmented(c.ws, pieces, false);
  expectMessage(await c.next(), whole, false);
  await expectNormalClose(c);
}]);

checks.push(['fragmented binary', async () => {
  const c = await dial();
  const { whole, pieces } = common.fragmentBinary();
  common.sendFragmented(c.ws, pieces, true);
  expectMessage(await c.next(), whole, true);
  await expectNormalClose(c);
}]);

checks.push(['client close 1000 done', async () => {
  const c = await dial();
  const { code, reason } = await c.close(1000, 'done');
  if (code !== 1000) throw new Error(`server answered close with ${code} ${JSON.stringify(reason)}, want 1000`);
}]);

checks.push(['server close 1000 bye', async () => {
  const u = new URL(base);
  u.searchParams.set('close', '1000');
  u.searchParams.set('reason', 'bye');
  const c = await dial(u.toString());
  const { code, reason } = await c.closed;
  if (code !== 1000 || reason !== 'bye') {
    throw new Error(`got close ${code} ${JSON.stringify(reason)}, want 1000 "bye"`);
  }
}]);

function withTimeout(p, ms) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

(async () => {
  let failed = 0;
  for (const [name, fn] of checks) {
    try {
      await withTimeout(fn(), CHECK_TIMEOUT_MS);
      process.stdout.write(`PASS ${name}\n`);
    } catch (err) {
      failed++;
      process.stdout.write(`FAIL ${name}: ${err.message}\n`);
    }
  }
  process.stdout.write(failed === 0 ? `all ${checks.length} checks passed\n` : `${failed} of ${checks.length} checks failed\n`);
  // Connections left open by a failed check must not keep the process alive.
  process.exit(failed === 0 ? 0 : 1);
})();
