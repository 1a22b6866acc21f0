// The same program as an ES module: named imports of the builtins must see the patches too.

import { lookup } from 'node:dns';
import { lookup as lookupPromise } from 'node:dns/promises';
import { get } from 'node:http';
import { createRequire } from 'node:module';
import { connect } from 'node:net';

const { runAll } = createRequire(import.meta.url)('./clients.cjs');

await runAll({
  'ESM import { get } from node:http': () =>
    new Promise((resolve, reject) => {
      get('http://http.prod.kw:2/', { agent: false }, (res) => {
        let text = '';
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve(text));
      }).on('error', reject);
    }),
  'ESM import { connect } from node:net': () =>
    new Promise((resolve, reject) => {
      const socket = connect(2, 'tcp.prod.kw');
      socket.once('data', (chunk) => {
        socket.destroy();
        resolve(String(chunk));
      });
      socket.once('error', reject);
    }),
  'ESM import { lookup } from node:dns': () =>
    new Promise((resolve, reject) =>
      lookup('http.prod.kw', (error, address) =>
        error ? reject(error) : resolve(address.startsWith('198.18.') ? 'synthetic' : address),
      ),
    ),
  'ESM import { lookup } from node:dns/promises': async () => {
    const { address } = await lookupPromise('http.prod.kw');
    return address.startsWith('198.18.') ? 'synthetic' : address;
  },
});
