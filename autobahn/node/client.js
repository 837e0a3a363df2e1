'use strict';

// client.js URL AGENT - a Node.js `ws` client for the Autobahn fuzzing
// server protocol, the reference peer that hybi's runner must score all OK
// in the client role: GET URL/getCaseCount, then URL/runCase?case=N&agent=AGENT
// for each case (echoing every message), then URL/updateReports?agent=AGENT.

const WebSocket = require('./ws');

const [base, agent = 'ws'] = process.argv.slice(2);
if (!base) {
  process.stderr.write('usage: node client.js URL AGENT\n');
  process.exit(2);
}

// The offer includes client_no_context_takeover and client_max_window_bits
// so that every server answer of the 13.* cases can be agreed.
// ws limits fragments per message (16384) against floods; the 9.3.1 and
// 9.4.1 cases send 65536.
const options = {
  maxPayload: 64 << 20,
  maxFragments: 0,
  perMessageDeflate: { clientNoContextTakeover: true, clientMaxWindowBits: true },
};

function connect(url, onMessage) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, options);
    ws.on('message', (data, isBinary) => onMessage(ws, data, isBinary));
    ws.on('close', () => resolve());
    ws.on('error', () => resolve());
  });
}

async function main() {
  let count = 0;
  await connect(`${base}/getCaseCount`, (ws, data) => {
    count = Number(data.toString());
  });
  const q = encodeURIComponent(agent);
  for (let i = 1; i <= count; i++) {
    await connect(`${base}/runCase?case=${i}&agent=${q}`, (ws, data, isBinary) => {
      ws.send(data, { binary: isBinary });
    });
  }
  await connect(`${base}/updateReports?agent=${q}`, () => {});
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
