// The mutations `npm run mutate` (scripts/mutate.mjs) makes, one guarantee each; test/README.md
// lists the same table. test/mutations.test.ts checks, with `npm test`, that every text to
// mutate is still in its source, so an edit to the code cannot leave a mutation stale unseen.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');

/** Each: the guarantee, where it lives, the text replaced, and the tests that must fail. */
export const MUTATIONS = [
  {
    guarantee: 'a cold connect prepares the socket at once (connecting, timeouts, writes queue)',
    file: 'src/patch/service-connect.ts',
    from: '    prepare(original, socket, options, callback, name);\n',
    to: "    if (callback) socket.once('connect', callback);\n",
    tests: ['test/preload.test.ts'],
  },
  {
    guarantee: 'a truncated UDP reply is asked again over TCP (RFC 7766)',
    file: 'src/dns/client.ts',
    from: "if (outcome.kind !== 'truncated') return outcome;",
    to: 'return outcome;',
    tests: ['test/client.test.ts'],
  },
  {
    // Two guards: the connected socket (the kernel drops other sources) and the check of each
    // datagram's source. Either alone holds the guarantee, so both go.
    guarantee: 'a reply from another address or port is ignored (RFC 5452)',
    file: 'src/dns/transport.ts',
    edits: [
      [
        'if (from.address !== this.server.address || from.port !== this.server.port) {',
        'if (false) {',
      ],
      [
        '    const socket = this.#socket as SyncConnect;\n',
        '    this.#socket.bind(0, () => this.#onConnect());\n    return;\n    const socket = this.#socket as SyncConnect;\n',
      ],
      [
        'this.#socket.send(message, (error) => {',
        'this.#socket.send(message, this.server.port, this.server.address, (error) => {',
      ],
    ],
    tests: ['test/client.test.ts'],
  },
  {
    // Two guards again: a UDP socket hands a datagram to the query of its ID, and each query
    // checks the ID of what it gets. Both go.
    guarantee: 'a reply with another ID is ignored (RFC 5452)',
    file: 'src/dns/message.ts',
    from: "if (bytes.readUInt16BE(0) !== id) return { kind: 'ignored', why: 'wrong ID' };",
    to: '',
    also: {
      file: 'src/dns/transport.ts',
      edits: [
        [
          'const waiter = this.#waiters.get(id);',
          'const waiter = this.#waiters.get(id) ?? this.#waiters.values().next().value;',
        ],
      ],
    },
    tests: ['test/client.test.ts'],
  },
  {
    guarantee: 'a reply to another question is ignored (RFC 5452)',
    file: 'src/dns/message.ts',
    from: "return { kind: 'ignored', why: 'wrong question' };",
    to: '',
    tests: ['test/client.test.ts'],
  },
  {
    guarantee: 'each query has a fresh random ID',
    file: 'src/dns/transport.ts',
    // Distinct but predictable: a counter.
    from: 'const id = ids.readUInt16BE(nextId);',
    to: 'const id = nextId;',
    tests: ['test/client.test.ts'],
  },
  {
    guarantee: 'an endpoint that failed is ejected for a cool-down and skipped',
    file: 'src/patch/health.ts',
    from: 'return record !== undefined && this.now() < record.until;',
    to: 'return false;',
    tests: ['test/health.test.ts', 'test/preload.test.ts'],
  },
  {
    guarantee: 'a failed connect fails over to the next endpoint',
    file: 'src/patch/service-connect.ts',
    from: 'if (error && isConnectFailure(error) && this.remoteAddress === undefined) {',
    to: 'if (false) {',
    tests: ['test/preload.test.ts'],
  },
  {
    guarantee: 'an expired answer is served while DNS fails, for SVCDISC_STALE_TTL (RFC 8767)',
    file: 'src/discovery/resolver.ts',
    from: 'if (entry?.resolution && now < entry.staleUntil) {',
    to: 'if (false) {',
    tests: ['test/cache.test.ts', 'test/faults.test.ts'],
  },
  {
    guarantee: 'names in use are refreshed before they expire',
    file: 'src/discovery/resolver.ts',
    from: 'this.#fetch(key).then(over, over);',
    to: 'over();',
    tests: ['test/cache.test.ts'],
  },
  {
    guarantee: 'within a priority, endpoints are chosen by weight (RFC 2782)',
    file: 'src/discovery/order.ts',
    from: 'const r = random() * sum;',
    to: 'const r = 0;',
    tests: ['test/order.test.ts'],
  },
  {
    guarantee: 'pooled connections to an endpoint that left the SRV set are drained',
    file: 'src/patch/pools.ts',
    from: 'if (served.agent && isIdle(served.agent, socket)) socket.destroy();',
    to: '',
    tests: ['test/pools.test.ts'],
  },
  {
    guarantee: "ES modules' named imports of node:dns follow install() and uninstall()",
    file: 'src/patch/dns-promises.ts',
    from: '  moduleLoad.syncBuiltinESMExports();',
    to: '',
    tests: ['test/dns-promises.test.ts'],
  },
  {
    guarantee: 'a TSIG signature that does not match is refused (RFC 8945)',
    file: 'src/dns/tsig.ts',
    from: 'if (mac.length !== expected.length || !timingSafeEqual(mac, expected))',
    to: 'if (false)',
    tests: ['test/tsig.test.ts'],
  },
];

/** The files `mutation` changes, each with its text before and after and the texts to replace
 * that are gone from it (a stale mutation). */
export function plan(mutation) {
  // The mutation's file, and another one where a guarantee has a second guard (`also`).
  return [
    { file: mutation.file, edits: mutation.edits ?? [[mutation.from, mutation.to]] },
    ...(mutation.also ? [mutation.also] : []),
  ].map(({ file, edits }) => {
    const path = join(ROOT, file);
    const original = readFileSync(path, 'utf8');
    let mutated = original;
    const gone = [];
    for (const [from, to] of edits) {
      const next = mutated.replace(from, to);
      if (next === mutated) gone.push(String(from));
      mutated = next;
    }
    return { file, path, original, mutated, gone };
  });
}
