'use strict';
// An unmodified program with Node's defaults: one client asks one URL `SPLIT_TOTAL` times,
// `SPLIT_CONCURRENCY` at a time, reusing its keep-alive connections as it always does, and
// prints how many answers came from each backend: {"<answer>": count, …}. Run by
// test/integration/keepalive.test.ts under the preload, one client per process:
//   node -r svcdisc/register test/pools/split.cjs <client> <url>
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');

const [client, url] = process.argv.slice(2);
const total = Number(process.env.SPLIT_TOTAL ?? 3000);
const concurrency = Number(process.env.SPLIT_CONCURRENCY ?? 4);
const ca = process.env.SPLIT_CA ? fs.readFileSync(process.env.SPLIT_CA) : undefined;

function get(module, options = {}) {
  return new Promise((resolve, reject) => {
    module
      .get(url, options, (res) => {
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

const keepAliveAgent = new http.Agent({ keepAlive: true });
const clients = {
  'http.get': () => get(http),
  'keep-alive agent': () => get(http, { agent: keepAliveAgent }),
  https: () => get(https, { ca }),
  fetch: async () => (await fetch(url)).text(),
  'undici request': async () => (await require('undici').request(url)).body.text(),
  // undici 8 keeps its global Agent under another symbol than undici 7 (docs/node-internals.md).
  'undici 8 request': async () => (await require('undici8').request(url)).body.text(),
  axios: async () => (await require('axios').get(url, { responseType: 'text' })).data,
  got: async () => (await import('got')).default(url).text(),
};

async function main() {
  const ask = clients[client];
  if (!ask) throw new Error(`unknown client ${client}; one of ${Object.keys(clients).join(', ')}`);
  if (ca) https.globalAgent.options.ca = ca; // axios and got use the global agents
  const counts = {};
  let sent = 0;
  async function worker() {
    while (sent < total) {
      sent++;
      const answer = await ask();
      counts[answer] = (counts[answer] ?? 0) + 1;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  keepAliveAgent.destroy();
  process.stdout.write(`${JSON.stringify(counts)}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.code ?? ''} ${error.stack}\n`);
  process.exitCode = 1;
});
