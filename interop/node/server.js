'use strict';

// server.js [PORT [DEFLATE]] - the node `ws` peer server for hybi interop
// tests.
//
// Listens on 127.0.0.1:PORT (0 or absent: any free port) and prints the port
// as the first line of stdout. DEFLATE, JSON, is ws's perMessageDeflate
// option (true or an object, e.g. {"threshold":0,"serverMaxWindowBits":9});
// absent or empty, permessage-deflate is declined. Per connection, chosen by
// the request URL:
//
//   /?close=CODE&reason=R  close at once with CODE and R
//   /fragments             send a fragmented text and a fragmented binary
//                          message (common.js), then echo
//   anything else          echo every message with the same type
//
// When a connection ends it prints "close CODE REASON" with the code and
// reason the client sent, so the Go test can see what the peer received.
// `ws` answers a close frame by echoing its code and reason, and a ping with a
// pong of the same payload.

const { WebSocketServer } = require('ws');
const common = require('./common');

const port = Number(process.argv[2] || 0);
const deflate = common.deflateConfig(process.argv[3]);
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  maxPayload: 64 << 20, // the 16 MiB checks must fit
  perMessageDeflate: deflate || false,
});

wss.on('listening', () => {
  process.stdout.write(`${wss.address().port}\n`);
});

wss.on('connection', (ws, req) => {
  const url = new URL(req.url, 'ws://127.0.0.1');
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('close', (code, reason) => {
    process.stdout.write(`close ${code} ${reason.toString('utf8')}\n`);
  });
  ws.on('error', (err) => process.stderr.write(`ws error: ${err.message}\n`));

  if (url.searchParams.has('close')) {
    ws.close(Number(url.searchParams.get('close')), url.searchParams.get('reason') || '');
    return;
  }
  if (url.pathname === '/fragments') {
    common.sendFragmented(ws, common.fragmentText().pieces, false);
    common.sendFragmented(ws, common.fragmentBinary().pieces, true);
  }
});

// The Go test kills the process; exit quietly on the usual signals too.
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
