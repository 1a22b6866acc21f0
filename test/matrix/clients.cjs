'use strict';
// An unmodified program: it connects to *.prod.kw names with ports that are wrong on purpose,
// through every client library the preload must cover, and prints what each backend answered.
// Run by matrix.test.ts under `-r`, `--import` and from clients.mjs (ESM).
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const http2 = require('node:http2');
const net = require('node:net');
const tls = require('node:tls');

const ca = fs.readFileSync(process.env.MATRIX_CA);
// Every URL carries this port; the SRV records say otherwise. (Not 1: fetch refuses it.)
const WRONG = 2;

function body(res) {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk) => {
      text += chunk;
    });
    res.on('end', () => resolve(text));
    res.on('error', reject);
  });
}

function get(client, url, options = {}) {
  return new Promise((resolve, reject) => {
    client.get(url, options, (res) => body(res).then(resolve, reject)).on('error', reject);
  });
}

function firstData(socket) {
  return new Promise((resolve, reject) => {
    socket.once('data', (chunk) => {
      socket.destroy();
      resolve(String(chunk));
    });
    socket.once('error', reject);
  });
}

function http2Get(authority, options) {
  return new Promise((resolve, reject) => {
    const session = http2.connect(authority, options);
    session.on('error', reject);
    const req = session.request({ ':path': '/' });
    req.setEncoding('utf8');
    let text = '';
    req.on('data', (chunk) => {
      text += chunk;
    });
    req.on('end', () => {
      session.close();
      resolve(text);
    });
    req.on('error', reject);
    req.end();
  });
}

function webSocket(url, options) {
  const WebSocket = require('ws');
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.on('message', (data) => {
      ws.close();
      resolve(String(data));
    });
    ws.on('error', reject);
  });
}

function grpcEcho(target, credentials) {
  const grpc = require('@grpc/grpc-js');
  const client = new grpc.Client(target, credentials);
  const same = (b) => b;
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest('/svcdisc.Test/Echo', same, same, Buffer.from('hi'), (error, reply) => {
      client.close();
      if (error) reject(error);
      else resolve(String(reply));
    });
  });
}

const clients = {
  'http.get': () => get(http, `http://http.prod.kw:${WRONG}/`, { agent: false }),
  'http.get keep-alive': async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await get(http, `http://http.prod.kw:${WRONG}/`, { agent });
    const reused = await new Promise((resolve, reject) => {
      const req = http.get(`http://http.prod.kw:${WRONG}/`, { agent }, (res) =>
        body(res).then(() => resolve(req.reusedSocket), reject),
      );
      req.on('error', reject);
    });
    agent.destroy();
    return `${first} reused=${reused}`;
  },
  'https.get': () => get(https, `https://https.prod.kw:${WRONG}/`, { ca, agent: false }),
  fetch: async () => (await fetch(`http://http.prod.kw:${WRONG}/`)).text(),
  undici: async () => {
    const { request } = require('undici');
    const { body: stream } = await request(`http://http.prod.kw:${WRONG}/`);
    return stream.text();
  },
  'net.connect': () => firstData(net.connect(WRONG, 'tcp.prod.kw')),
  'tls.connect': () => firstData(tls.connect({ host: 'tls.prod.kw', port: WRONG, ca })),
  'tls.connect({socket})': () =>
    firstData(tls.connect({ socket: net.connect(WRONG, 'tls.prod.kw'), ca })),
  'http2 (TLS)': () => http2Get(`https://h2.prod.kw:${WRONG}`, { ca }),
  'http2 (h2c)': () => http2Get(`http://h2c.prod.kw:${WRONG}`),
  ws: () => webSocket(`ws://ws.prod.kw:${WRONG}/`),
  wss: () => webSocket(`wss://wss.prod.kw:${WRONG}/`, { ca }),
  axios: async () => (await require('axios').get(`http://http.prod.kw:${WRONG}/`)).data,
  got: async () => (await import('got')).default(`http://http.prod.kw:${WRONG}/`).text(),
  'node-fetch': async () =>
    (await (await import('node-fetch')).default(`http://http.prod.kw:${WRONG}/`)).text(),
  ioredis: async () => {
    const Redis = require('ioredis');
    const redis = new Redis({
      host: 'redis.prod.kw',
      port: WRONG,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    });
    try {
      return await redis.get('key');
    } finally {
      redis.disconnect();
    }
  },
  pg: async () => {
    const { Client } = require('pg');
    const client = new Client({ host: 'pg.prod.kw', port: WRONG, user: 'app', database: 'app' });
    await client.connect();
    try {
      return (await client.query('SELECT 1')).rows[0].result;
    } finally {
      await client.end();
    }
  },
  '@grpc/grpc-js': () =>
    grpcEcho(`grpc.prod.kw:${WRONG}`, require('@grpc/grpc-js').credentials.createInsecure()),
  '@grpc/grpc-js (TLS)': () =>
    grpcEcho(`grpcs.prod.kw:${WRONG}`, require('@grpc/grpc-js').credentials.createSsl(ca)),
};

/** Runs every client, one at a time, each within 10 s; prints the results as one JSON line. */
async function runAll(extra = {}) {
  const results = {};
  for (const [name, run] of Object.entries({ ...clients, ...extra })) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer within 10 s')), 10_000);
    });
    try {
      results[name] = await Promise.race([run(), timeout]);
    } catch (error) {
      results[name] = `error: ${error.code ?? ''} ${error.message}`;
    } finally {
      clearTimeout(timer);
    }
  }
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

module.exports = { runAll };
if (require.main === module) runAll();
