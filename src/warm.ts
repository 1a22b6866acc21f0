// node dist/warm.js: makes the code cache of the preload's two bundles for this Node, the
// start-up bundle (read by ../register.cjs) and the service side (see ./patch/code-cache.ts).
// Run by `npm install` (package.json "install") and `npm run build`. It starts a DNS server
// and an HTTP server on 127.0.0.1, installs svcdisc with that DNS server, makes the first
// connects a program makes (net.connect, an http.get through the global keep-alive agent, a
// fetch, a dns.lookup, to a service name), and writes V8's code cache of each bundle, with
// every function those compiled. Nothing leaves the loopback interface. It never fails an
// install: a cache it cannot make is one line on stderr, and the preload works as without it.
import { createSocket } from 'node:dgram';

import dns = require('node:dns');

import { once } from 'node:events';

import http = require('node:http');
import net = require('node:net');

import { join } from 'node:path';
import { type Config, ENV_VARIABLES } from './config.js';
import { produceCodeCache, requireBundle, writeCodeCache } from './patch/code-cache.js';
import type * as Install from './patch/install.js';
import { answer } from './server/authority.js';
import { parseZone } from './server/zone.js';

const NAME = 'warm.svcdisc.kw';
/** A valid value of every setting, read from the environment as the preload reads it: each
 * variable set is checked at start-up, and its parser goes into the start-up bundle's cache
 * with the rest (the twenty-third pass). A setting added to Config must be added here (the
 * types check it); SVCDISC_TSIG_KEYFILE is run on its own (it excludes SVCDISC_TSIG_KEY). */
const EVERY_SETTING: Record<Exclude<keyof Config, 'cacheSize' | 'tsigKeyFile'>, string> = {
  domains: 'prod.kw,.stage.kw',
  nameservers: '10.0.0.2,10.0.0.3:5353,dns:53',
  srvName: '5432=_postgresql._tcp.{host},{host}',
  timeoutMs: '500',
  attempts: '2',
  tcp: '0',
  fallback: 'true',
  minTtl: '0',
  maxTtl: '3600',
  staleTtl: '60',
  connectTimeoutMs: '1000',
  disable: '0',
  announce: 'user.prod.kw,admin.prod.kw:9090',
  updateServer: '10.0.0.2:53',
  tsigKey: `key.kw:hmac-sha256:${Buffer.alloc(32).toString('base64')}`,
  announcePriority: '10',
  announceWeight: '100',
  announceTtl: '30',
  announceAddress: '10.0.0.4',
};
/** EVERY_SETTING as environment variables. */
const everyVariable = () =>
  Object.fromEntries(
    Object.entries(EVERY_SETTING).map(([key, value]) => [ENV_VARIABLES[key], value]),
  );
/** The whole run; it takes about 0.4 s (most of it loading undici for the fetch). */
const DEADLINE_MS = 5_000;
const START_UP = join(__dirname, 'patch', 'install.js');

async function warm(): Promise<string[]> {
  // The preload's own installation, when NODE_OPTIONS has it: this run installs its own, from
  // a copy of the start-up bundle compiled here so that its cache can be made.
  (require.cache[START_UP]?.exports as typeof Install | undefined)?.uninstall();
  produceCodeCache();
  const svcdisc = requireBundle(START_UP, () => {
    throw new Error(`cannot read ${START_UP}`);
  }) as typeof Install;
  const web = http.createServer((_request, response) => response.end('warm'));
  web.on('error', () => {}); // a failure shows as the warm-up's request failing
  web.listen(0, '127.0.0.1');
  await once(web, 'listening');
  const port = (web.address() as net.AddressInfo).port;
  // The name's SRV record and its target's address, answered as `svcdisc serve` answers.
  const zone = parseZone(
    [
      '$ORIGIN kw.',
      '@ 60 IN SOA ns.kw. hostmaster.kw. 1 3600 600 86400 5',
      `warm.svcdisc 60 IN SRV 10 10 ${port} host.warm.svcdisc`,
      'host.warm.svcdisc 60 IN A 127.0.0.1',
    ].join('\n'),
  );
  const nameserver = createSocket('udp4');
  nameserver.on('message', (query, from) => {
    const reply = answer([zone], query, 'udp');
    if (reply) nameserver.send(reply.bytes, from.port, from.address);
  });
  nameserver.bind(0, '127.0.0.1');
  await once(nameserver, 'listening');
  nameserver.on('error', () => {}); // from here on, a failure shows as the query timing out
  try {
    svcdisc.produceCodeCache();
    svcdisc.configFromEnv(everyVariable());
    svcdisc.configFromEnv({ [ENV_VARIABLES.tsigKeyFile as string]: '/etc/svcdisc/update.key' });
    // No timeout or attempts given: the resolver takes them from resolv.conf, as programs
    // that set neither do, so that the code reading it is in the cache too.
    // Through the preload's own entry, so that it is in the cache too.
    svcdisc.preload({ domains: 'kw', nameservers: `127.0.0.1:${nameserver.address().port}` });
    // Until a program loads dns/promises, each of its requires passes through svcdisc's hook
    // (src/patch/dns-promises.ts): one here, so that the hook is in the cache too.
    require('node:os');
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
      const side = svcdisc.writeCodeCache(join(__dirname, 'patch', 'side.js'));
      // Written second: writing the side's compiled the start-up bundle's functions that a
      // preload runs to read that cache (producing, this run read none).
      return [...writeCodeCache(START_UP), ...side];
    } finally {
      svcdisc.uninstall();
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
  (files) => {
    clearTimeout(deadline);
    for (const file of files) process.stdout.write(`svcdisc: code cache ${file}\n`);
  },
  (error: Error) => {
    clearTimeout(deadline);
    process.stderr.write(`svcdisc: no code cache: ${error.message}\n`);
  },
);
