'use strict';
// What the preload costs a connection it does not touch (an IP literal, a name outside the
// domains): connects to a local server with the patches installed and without, in alternating
// rounds in one process; the ratio of the medians is the cost. Run: npm run build first, then
//   node bench/untouched.cjs [connects per round] [rounds]
const net = require('node:net');
const { performance } = require('node:perf_hooks');
const { install, uninstall } = require('../dist/index.js');

const perRound = Number(process.argv[2] ?? 2000);
const rounds = Number(process.argv[3] ?? 11);

function connectOnce(port, host) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host, () => {
      socket.destroy();
      resolve();
    });
    socket.on('error', reject);
  });
}

async function timeRound(port, host) {
  const started = performance.now();
  for (let i = 0; i < perRound; i++) await connectOnce(port, host);
  return ((performance.now() - started) / perRound) * 1000; // µs per connect
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const rows = [];
  for (const host of ['127.0.0.1', 'localhost']) {
    const times = { without: [], with: [] };
    await timeRound(port, host); // warm-up
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? ['without', 'with'] : ['with', 'without'];
      for (const mode of order) {
        if (mode === 'with') install({ domains: ['kw'], nameservers: ['127.0.0.1:1'] });
        times[mode].push(await timeRound(port, host));
        if (mode === 'with') uninstall();
      }
    }
    const without = median(times.without);
    const withPatch = median(times.with);
    rows.push({
      host,
      'without µs': without.toFixed(1),
      'with µs': withPatch.toFixed(1),
      ratio: (withPatch / without).toFixed(3),
    });
  }
  server.close();
  console.log(`node ${process.version}, ${perRound} connects x ${rounds} rounds, medians`);
  console.table(rows);
}

main();
