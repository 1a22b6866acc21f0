// The servers behind the *.prod.kw names of the client matrix, each answering with its own
// label, and the fixture DNS server that publishes them by SRV (at ports the URLs don't use).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type * as packet from 'dns-packet';
import { WebSocketServer } from 'ws';
import { FixtureServer } from '../fixture-server.js';
import { a, srv } from '../records.js';

export const TLS_DIR = join(__dirname, '..', '..', 'fixtures', 'tls');
const cert = readFileSync(join(TLS_DIR, 'prod.crt'));
const key = readFileSync(join(TLS_DIR, 'prod.key'));

/** What each client of clients.cjs must get back. */
export const EXPECTED: Record<string, string> = {
  'http.get': 'http-ok',
  'http.get keep-alive': 'http-ok reused=true',
  'https.get': 'https-ok',
  fetch: 'http-ok',
  undici: 'http-ok',
  'net.connect': 'tcp-ok',
  'tls.connect': 'tls-ok',
  'tls.connect({socket})': 'tls-ok',
  'http2 (TLS)': 'h2-ok',
  'http2 (h2c)': 'h2c-ok',
  ws: 'ws-ok',
  wss: 'wss-ok',
  axios: 'http-ok',
  got: 'http-ok',
  'node-fetch': 'http-ok',
  ioredis: 'redis-ok',
  pg: 'pg-ok',
  '@grpc/grpc-js': 'grpc-ok',
  '@grpc/grpc-js (TLS)': 'grpc-ok',
};

type Closable = { close(callback?: () => void): unknown };

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** Just enough of the Redis protocol (RESP) for ioredis: INFO for its ready check, GET. */
function redisServer(): net.Server {
  return net.createServer((socket) => {
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk;
      // Commands arrive as arrays of bulk strings: *N\r\n($len\r\narg\r\n)*N
      for (;;) {
        const match = /^\*(\d+)\r\n/.exec(buffered);
        if (!match) return;
        const parts: string[] = [];
        let rest = buffered.slice(match[0].length);
        for (let i = 0; i < Number(match[1]); i++) {
          const bulk = /^\$(\d+)\r\n/.exec(rest);
          if (!bulk || rest.length < bulk[0].length + Number(bulk[1]) + 2) return;
          parts.push(rest.slice(bulk[0].length, bulk[0].length + Number(bulk[1])));
          rest = rest.slice(bulk[0].length + Number(bulk[1]) + 2);
        }
        buffered = rest;
        const command = parts[0]?.toLowerCase();
        const info = '# Server\r\nredis_version:7.2.0\r\nloading:0\r\n';
        if (command === 'info') socket.write(`$${info.length}\r\n${info}\r\n`);
        else if (command === 'get') socket.write('$8\r\nredis-ok\r\n');
        else socket.write('+OK\r\n');
      }
    });
    socket.on('error', () => {});
  });
}

/** Just enough of the PostgreSQL protocol for pg: trust authentication and one simple query
 * that returns one text column `result`. */
function postgresServer(): net.Server {
  const message = (type: string, body: Buffer) => {
    const head = Buffer.alloc(5);
    head.write(type, 0);
    head.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([head, body]);
  };
  const int32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  };
  const int16 = (n: number) => {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    return b;
  };
  const ready = message('Z', Buffer.from('I'));
  return net.createServer((socket) => {
    let buffered = Buffer.alloc(0);
    let started = false;
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        if (!started) {
          if (buffered.length < 8) return;
          const length = buffered.readInt32BE(0);
          if (buffered.length < length) return;
          const code = buffered.readInt32BE(4);
          buffered = buffered.subarray(length);
          if (code === 80877103) {
            socket.write('N'); // no SSL
            continue;
          }
          started = true;
          socket.write(
            Buffer.concat([
              message('R', int32(0)),
              message('K', Buffer.concat([int32(1), int32(2)])),
              ready,
            ]),
          );
          continue;
        }
        if (buffered.length < 5) return;
        const type = String.fromCharCode(buffered[0] ?? 0);
        const length = buffered.readInt32BE(1);
        if (buffered.length < length + 1) return;
        buffered = buffered.subarray(length + 1);
        if (type === 'X') {
          socket.end();
          return;
        }
        if (type === 'Q') {
          const field = Buffer.concat([
            Buffer.from('result\0'),
            int32(0),
            int16(0),
            int32(25),
            int16(-1),
            int32(-1),
            int16(0),
          ]);
          socket.write(
            Buffer.concat([
              message('T', Buffer.concat([int16(1), field])),
              message('D', Buffer.concat([int16(1), int32(5), Buffer.from('pg-ok')])),
              message('C', Buffer.from('SELECT 1\0')),
              ready,
            ]),
          );
        }
      }
    });
    socket.on('error', () => {});
  });
}

async function grpcServer(secure: boolean): Promise<[number, grpc.Server]> {
  const server = new grpc.Server();
  const same = (b: Buffer) => b;
  const definition = {
    echo: {
      path: '/svcdisc.Test/Echo',
      requestStream: false,
      responseStream: false,
      requestSerialize: same,
      requestDeserialize: same,
      responseSerialize: same,
      responseDeserialize: same,
    },
  };
  server.addService(definition, {
    echo: (_call: unknown, callback: (error: null, reply: Buffer) => void) =>
      callback(null, Buffer.from('grpc-ok')),
  });
  const credentials = secure
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }])
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return [port, server];
}

export interface Backends {
  dns: FixtureServer;
  close(): Promise<void>;
}

/** Starts every backend and a DNS server publishing `{service}.prod.kw` for each. */
export async function startBackends(): Promise<Backends> {
  const closables: Closable[] = [];
  const ports: Record<string, number> = {};
  const add = async (service: string, server: net.Server) => {
    ports[service] = await listen(server);
    closables.push(server);
    return server;
  };

  await add(
    'http',
    http.createServer((_req, res) => res.end('http-ok')),
  );
  await add(
    'https',
    https.createServer({ cert, key }, (_req, res) => res.end('https-ok')),
  );
  await add(
    'tcp',
    net.createServer((socket) => socket.end('tcp-ok')),
  );
  await add(
    'tls',
    tls.createServer({ cert, key }, (socket) => socket.end('tls-ok')),
  );
  const h2 = http2.createSecureServer({ cert, key });
  h2.on('stream', (stream) => stream.end('h2-ok'));
  await add('h2', h2);
  const h2c = http2.createServer();
  h2c.on('stream', (stream) => stream.end('h2c-ok'));
  await add('h2c', h2c);
  const wsHttp = await add('ws', http.createServer());
  new WebSocketServer({ server: wsHttp as http.Server }).on('connection', (ws) => ws.send('ws-ok'));
  const wssHttps = await add('wss', https.createServer({ cert, key }));
  new WebSocketServer({ server: wssHttps as https.Server }).on('connection', (ws) =>
    ws.send('wss-ok'),
  );
  await add('redis', redisServer());
  await add('pg', postgresServer());
  const [grpcPort, grpcPlain] = await grpcServer(false);
  const [grpcsPort, grpcTls] = await grpcServer(true);
  ports.grpc = grpcPort;
  ports.grpcs = grpcsPort;

  const records: packet.Answer[] = [a('backend.host.kw', '127.0.0.1')];
  for (const [service, port] of Object.entries(ports)) {
    records.push(srv(`${service}.prod.kw`, 'backend.host.kw', port));
  }
  const dns = await FixtureServer.start({ records });
  return {
    dns,
    async close() {
      for (const server of closables) {
        (server as net.Server & { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close();
      }
      grpcPlain.forceShutdown();
      grpcTls.forceShutdown();
      await dns.close();
    },
  };
}
