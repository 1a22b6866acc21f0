'use strict';
// An unmodified program with Node's defaults: it asks one URL many times (http.get on the
// global agent, which keeps its connections alive and reuses them) and counts which backend
// answered. Nothing in it knows about SRV records; run it under the preload:
//
//   SVCDISC_NAMESERVERS=127.0.0.1:5353 node -r svcdisc/register examples/count-backends.js \
//     http://user.prod.kw/ 1000
//
// and the requests are spread over the endpoints of user.prod.kw in proportion to their SRV
// weights: the preload chooses an endpoint for each request, and the agent keeps a pool of
// connections per endpoint. Prints one JSON object: { "<backend's answer>": count, … }.
const http = require('node:http');

const url = process.argv[2] ?? 'http://user.prod.kw/';
const total = Number(process.argv[3] ?? 100);
const parallel = 20;

function ask() {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve(body.trim()));
      })
      .on('error', reject);
  });
}

async function main() {
  const counts = {};
  let sent = 0;
  async function worker() {
    while (sent < total) {
      sent++;
      const answer = await ask();
      counts[answer] = (counts[answer] ?? 0) + 1;
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, total) }, worker));
  console.log(JSON.stringify(counts));
}

main().catch((error) => {
  console.error(`${error.code ?? ''} ${error.message}`);
  process.exitCode = 1;
});
