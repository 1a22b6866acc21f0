// Property tests: whatever bytes come back, the client neither throws out nor hangs.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as packet from 'dns-packet';
import fc from 'fast-check';
import { checkReply } from '../src/dns/message.js';
import { createResolver, DnsError } from '../src/index.js';
import { FixtureServer } from './fixture-server.js';
import { a, aaaa, cname, srv } from './records.js';

const QUESTION = { name: 'user.prod.kw', type: 'SRV' as const };
const ID = 0x1234;

/** A valid reply to QUESTION with SRV records, CNAMEs and glue. */
const VALID = packet.encode({
  type: 'response',
  id: ID,
  flags: packet.AUTHORITATIVE_ANSWER,
  questions: [{ name: 'user.prod.kw', type: 'SRV', class: 'IN' }],
  answers: [
    cname('user.prod.kw', 'u2.prod.kw'),
    srv('u2.prod.kw', 'a.kw', 80),
    srv('u2.prod.kw', 'b.kw', 81, 20, 5),
  ],
  additionals: [a('a.kw', '127.0.0.2'), aaaa('b.kw', '::1')],
});

/** VALID with some bytes changed, cut short or extended. */
const mutatedReply = fc
  .record({
    flips: fc.array(
      fc.record({ at: fc.nat(VALID.length - 1), value: fc.integer({ min: 0, max: 255 }) }),
      { maxLength: 8 },
    ),
    cut: fc.integer({ min: 0, max: VALID.length }),
    tail: fc.uint8Array({ maxLength: 16 }),
  })
  .map(({ flips, cut, tail }) => {
    const bytes = Buffer.concat([VALID, Buffer.from(tail)]);
    for (const { at, value } of flips) bytes[at] = value;
    return bytes.subarray(0, Math.max(cut, 2) + tail.length);
  });

describe('fuzz', () => {
  test('checkReply never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const buffer = Buffer.from(bytes);
        if (buffer.length >= 2) buffer.writeUInt16BE(ID, 0); // reach the decoder, past the ID check
        const check = checkReply(buffer, ID, QUESTION);
        assert.ok(['ignored', 'malformed', 'reply'].includes(check.kind));
      }),
      { numRuns: 2000 },
    );
  });

  test('checkReply never throws on mutated valid replies', () => {
    fc.assert(
      fc.property(mutatedReply, (bytes) => {
        const check = checkReply(bytes, ID, QUESTION);
        assert.ok(['ignored', 'malformed', 'reply'].includes(check.kind));
      }),
      { numRuns: 3000 },
    );
  });

  describe('through the resolver', () => {
    let server: FixtureServer;
    before(async () => {
      server = await FixtureServer.start({
        records: [
          cname('user.prod.kw', 'u2.prod.kw'),
          srv('u2.prod.kw', 'a.kw', 80),
          a('a.kw', '127.0.0.2'),
        ],
      });
    });
    after(() => server.close());

    test('random and mutated replies end in endpoints or a DnsError, never a throw or a hang', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            mutatedReply,
            fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
          ),
          fc.boolean(),
          async (bytes, tcp) => {
            server.behave = () => ({ raw: () => Buffer.from(bytes) });
            // TCP fails at once on a malformed frame; UDP waits out its (short) timeout.
            const resolver = createResolver({
              nameservers: [server.nameserver],
              attempts: 1,
              timeoutMs: 50,
              tcp,
            });
            try {
              const result = await resolver.resolve('user.prod.kw');
              for (const endpoint of result.endpoints) {
                assert.ok(endpoint.addresses.length > 0);
                assert.ok(Number.isInteger(endpoint.port));
              }
            } catch (error) {
              assert.ok(error instanceof DnsError, `not a DnsError: ${error}`);
            }
          },
        ),
        { numRuns: 100 },
      );
    });
  });
});
