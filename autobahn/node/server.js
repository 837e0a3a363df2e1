'use strict';

// server.js [PORT] - a Node.js `ws` echo server, the reference peer that
// hybi's runner (autobahn/suite) must score all OK in the server role.
//
// Listens on 127.0.0.1:PORT (0 or absent: a free port), prints the port as
// its first line of stdout, and echoes every message with its type.
// permessage-deflate is on, with ws's defaults, for the 12.* and 13.* cases.

const { WebSocketServer } = require('./ws');

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: Number(process.argv[2] || 0),
  maxPayload: 64 << 20,
  // ws limits fragments per message (16384) against floods; the 9.3.1 and
  // 9.4.1 cases send 65536.
  maxFragments: 0,
  perMessageDeflate: true,
});

wss.on('listening', () => process.stdout.write(`${wss.address().port}\n`));
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
