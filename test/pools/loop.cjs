'use strict';
// An unmodified program with Node's defaults: `http.get` on the global agent and `fetch` each
// ask one URL in a loop (two at a time, a request every few ms) for LOOP_MS, and print one
// JSON line per answer: {"client","t": Date.now(),"answer"} or {"client","t","error"}, and one
// per failover or ejection of svcdisc's. Run by test/integration/keepalive.test.ts under the
// preload while the SRV records change.
const http = require('node:http');

const url = process.argv[2];
const until = Date.now() + Number(process.env.LOOP_MS ?? 5000);
const pauseMs = Number(process.env.LOOP_PAUSE_MS ?? 4);

function get() {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve(text));
      })
      .on('error', reject);
  });
}

// svcdisc's failovers and ejections, one line each ({"event","t","target","port"}): a request
// that fails over is answered by another endpoint than the one chosen for it.
const channels = require('node:diagnostics_channel');
for (const event of ['failover', 'eject']) {
  channels.subscribe(`svcdisc:${event}`, (m) => {
    process.stdout.write(
      `${JSON.stringify({ event, t: Date.now(), target: m.target, port: m.port })}\n`,
    );
  });
}

const clients = { 'http.get': get, fetch: async () => (await fetch(url)).text() };

async function loop(client, ask) {
  while (Date.now() < until) {
    try {
      const answer = await ask();
      process.stdout.write(`${JSON.stringify({ client, t: Date.now(), answer })}\n`);
    } catch (error) {
      const code = error.cause?.code ?? error.code ?? error.message;
      process.stdout.write(`${JSON.stringify({ client, t: Date.now(), error: code })}\n`);
    }
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}

for (const [client, ask] of Object.entries(clients)) {
  loop(client, ask);
  loop(client, ask);
}
