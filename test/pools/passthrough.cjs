'use strict';
// An unmodified program with Node's defaults that asks its own server by IP literal and by
// `localhost`, through http.get on the global agent and fetch, and prints what decides socket
// reuse: the agent's pool keys, which requests reused a socket, how many connections the
// server accepted, and the headers it saw. Run by test/pools.test.ts with and without the
// preload: the output must be the same. With PASSTHROUGH_SERVICE set (under the preload), a
// connection to that service name is made first, so the keep-alive pools are adopted.
const http = require('node:http');
const net = require('node:net');

const seen = { connections: 0, headers: [] };
const server = http.createServer((req, res) => {
  seen.headers.push([req.headers.host, req.headers.connection ?? null]);
  res.end('ok');
});
server.on('connection', () => seen.connections++);

function get(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      res.resume();
      res.on('end', () => resolve(req.reusedSocket));
    });
    req.on('error', reject);
  });
}

async function main() {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const urls = [`http://127.0.0.1:${port}/`, `http://localhost:${port}/`];
  await (await fetch(urls[0])).text(); // undici loads and creates its global Agent
  if (process.env.PASSTHROUGH_SERVICE) {
    await new Promise((resolve, reject) => {
      const socket = net.connect(80, process.env.PASSTHROUGH_SERVICE, () => {
        socket.destroy();
        resolve();
      });
      socket.on('error', reject);
    });
  }
  const reused = [];
  for (const url of urls) for (let i = 0; i < 3; i++) reused.push(await get(url));
  for (const url of urls) for (let i = 0; i < 3; i++) await (await fetch(url)).text();
  const keys = [
    ...Object.keys(http.globalAgent.freeSockets),
    ...Object.keys(http.globalAgent.sockets),
  ];
  // undici 8 (Node 26) keeps its Agent at .2 and a wrapper of it at .1; undici 6 at .1 alone.
  const dispatcher =
    globalThis[Symbol.for('undici.globalDispatcher.2')] ??
    globalThis[Symbol.for('undici.globalDispatcher.1')];
  const same = {
    keys: keys.map((key) => key.replaceAll(String(port), 'PORT')),
    getName: http.globalAgent.getName({ host: 'localhost', port: 1 }),
    reused,
    connections: seen.connections,
    headers: seen.headers.map(([host, connection]) => [
      host.replace(String(port), 'PORT'),
      connection,
    ]),
  };
  // Whether svcdisc patched the pools (its getName has a name of its own).
  const adopted =
    Object.hasOwn(dispatcher, 'dispatch') && http.Agent.prototype.getName.name !== 'getName';
  process.stdout.write(`${JSON.stringify({ same, adopted })}\n`);
  server.close();
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
  server.close();
});
