// node dist/warm.js: makes the code cache of the service-side bundle for this Node (see
// ./patch/code-cache.ts). Run by `npm install` (package.json "install") and `npm run build`.
// It starts a DNS server and an HTTP server on 127.0.0.1, installs svcdisc with that DNS
// server, makes the first connects a program makes (net.connect, an http.get through the
// global keep-alive agent, a fetch, a dns.lookup, to a service name), and writes V8's code
// cache of the bundle, with every function those compiled. Nothing leaves the loopback
// interface. It never fails an install: a cache it cannot make is one line on stderr, and the
// preload works as without it.
import { createSocket } from 'node:dgram';

import dns = require('node:dns');

import http = require('node:http');
import net = require('node:net');

import { join } from 'node:path';
import { decode, encode } from './dns/packet.js';
import { install, produceCodeCache, uninstall, writeCodeCache } from './patch/install.js';

const NAME = 'warm.svcdisc.kw';
const TARGET = 'host.warm.svcdisc.kw';
/** The whole run; it takes about 0.4 s (most of it loading undici for the fetch). */
const DEADLINE_MS = 5_000;

/** Resolves once `emitter` emits `event`, rejects on its 'error'. */
const once = (emitter: NodeJS.EventEmitter, event: string) =>
  new Promise<void>((resolve, reject) => {
    emitter.once(event, () => resolve());
    emitter.once('error', reject);
  });

async function warm(): Promise<string> {
  // The preload's own installation, when NODE_OPTIONS has it: this run installs its own.
  uninstall();
  const web = http.createServer((_request, response) => response.end('warm'));
  web.on('error', () => {}); // a failure shows as the warm-up's request failing
  web.listen(0, '127.0.0.1');
  await once(web, 'listening');
  const port = (web.address() as net.AddressInfo).port;
  const nameserver = createSocket('udp4');
  nameserver.on('message', (bytes, from) => {
    let query: ReturnType<typeof decode>;
    try {
      query = decode(bytes);
    } catch {
      return; // not a query of this run's
    }
    const question = query.questions?.[0];
    if (!question) return;
    const answers =
      question.type === 'SRV' && question.name === NAME
        ? [
            {
              type: 'SRV',
              name: NAME,
              ttl: 60,
              data: { priority: 10, weight: 10, port, target: TARGET },
            },
          ]
        : [];
    const reply = encode({
      id: query.id,
      type: 'response',
      flags: 0x0400, // AA
      questions: [question],
      answers,
      additionals: answers.length ? [{ type: 'A', name: TARGET, ttl: 60, data: '127.0.0.1' }] : [],
    } as never);
    nameserver.send(reply, from.port, from.address);
  });
  nameserver.bind(0, '127.0.0.1');
  await once(nameserver, 'listening');
  nameserver.on('error', () => {}); // from here on, a failure shows as the query timing out
  try {
    produceCodeCache();
    install({
      domains: 'kw',
      nameservers: `127.0.0.1:${nameserver.address().port}`,
      timeoutMs: 1000,
      attempts: 2,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect(80, NAME, () => {
          socket.destroy();
          resolve();
        });
        socket.on('error', reject);
      });
      await new Promise<void>((resolve, reject) => {
        http
          .get(`http://${NAME}/`, (response) => {
            response.resume();
            response.on('end', resolve);
          })
          .on('error', reject);
      });
      // fetch (undici's global Agent, adopted) and dns.lookup (a synthetic address).
      await (await fetch(`http://${NAME}/`)).text();
      await new Promise<void>((resolve, reject) =>
        dns.lookup(NAME, (error) => (error ? reject(error) : resolve())),
      );
      return writeCodeCache(join(__dirname, 'patch', 'side.js'));
    } finally {
      uninstall();
    }
  } finally {
    nameserver.close();
    web.closeAllConnections();
    web.close();
  }
}

const deadline = setTimeout(() => {
  process.stderr.write(`svcdisc: no code cache: the warm-up took over ${DEADLINE_MS} ms\n`);
  process.exit(0);
}, DEADLINE_MS);
deadline.unref();

warm().then(
  (file) => {
    clearTimeout(deadline);
    process.stdout.write(`svcdisc: code cache ${file}\n`);
  },
  (error: Error) => {
    clearTimeout(deadline);
    process.stderr.write(`svcdisc: no code cache: ${error.message}\n`);
  },
);
