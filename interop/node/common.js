'use strict';

// Shared fixtures for the node peer scripts. The Python scripts and the Go
// tests build the same values; keep them in step (see interop/README.md).

// UTF8_TEXT mixes 1-, 2-, 3- and 4-byte UTF-8 sequences.
const UTF8_TEXT = 'héllo wörld ✓ 𝄞';

// fragmentText returns the bytes of the fragmented text message and its
// pieces. Pieces are 7 bytes long, so most boundaries fall inside a multibyte
// sequence: UTF-8 must be checked over the whole message (RFC 6455, Section
// 8.1), not per frame.
function fragmentText() {
  const whole = Buffer.from(UTF8_TEXT.repeat(20), 'utf8');
  return { whole, pieces: split(whole, 7) };
}

// fragmentBinary returns a 1000-byte binary message (byte i is i%256) and its
// 100-byte pieces.
function fragmentBinary() {
  const whole = Buffer.alloc(1000);
  for (let i = 0; i < whole.length; i++) whole[i] = i % 256;
  return { whole, pieces: split(whole, 100) };
}

function split(buf, n) {
  const pieces = [];
  for (let i = 0; i < buf.length; i += n) pieces.push(buf.subarray(i, i + n));
  return pieces;
}

// COMPRESSIBLE_RECORD repeated and cut to COMPRESSIBLE_SIZE bytes is the
// compressible text message of the deflate checks: JSON-like ASCII text that
// DEFLATE shrinks far below its size with any window.
const COMPRESSIBLE_RECORD = '{"id":42,"name":"hybi","tags":["websocket","deflate"],"ok":true},';
const COMPRESSIBLE_SIZE = 1 << 20;

function compressibleText() {
  const n = Math.ceil(COMPRESSIBLE_SIZE / COMPRESSIBLE_RECORD.length);
  return COMPRESSIBLE_RECORD.repeat(n).slice(0, COMPRESSIBLE_SIZE);
}

// deflateConfig parses the optional permessage-deflate argument of the
// scripts: JSON for ws's perMessageDeflate option (true, or an object such as
// {"threshold":0,"serverNoContextTakeover":true}). Absent or empty: null,
// which keeps the scripts' behaviour without it.
function deflateConfig(arg) {
  if (arg === undefined || arg === '') return null;
  const cfg = JSON.parse(arg);
  if (cfg !== true && (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg))) {
    throw new Error(`deflate config must be true or an object, got ${arg}`);
  }
  return cfg;
}

// sendFragmented sends pieces as one message of len(pieces) frames.
function sendFragmented(ws, pieces, binary) {
  pieces.forEach((p, i) => ws.send(p, { binary, fin: i === pieces.length - 1 }));
}

module.exports = {
  UTF8_TEXT,
  COMPRESSIBLE_SIZE,
  compressibleText,
  deflateConfig,
  fragmentText,
  fragmentBinary,
  sendFragmented,
};
