// The resolver's own wire codec (src/dns/wire.ts) against dns-packet, which the fixture server,
// the update and the server code use: the same query bytes, the same decoded fields for every
// record the resolver reads, the same verdict on malformed messages.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as packet from 'dns-packet';
import fc from 'fast-check';
import { decodeMessage, encodeQuery } from '../src/dns/wire.js';
import { a, aaaa, cname, srv } from './records.js';

/** The record types whose data the resolver reads; of others it reads the type only. */
const READ = new Set(['SRV', 'A', 'AAAA', 'CNAME', 'DNAME', 'NS', 'PTR', 'SOA', 'TXT']);

/** What the resolver reads of a decoded message (src/dns/message.ts, discovery/service.ts). */
function readable(message: packet.Packet | ReturnType<typeof decodeMessage>) {
  const m = message as Record<string, unknown> & {
    questions?: { name: string; type: string; class?: string }[];
  };
  const records = (list: unknown) =>
    ((list ?? []) as Record<string, unknown>[]).map((r) =>
      r.type === 'OPT'
        ? { type: 'OPT', name: r.name, udpPayloadSize: r.udpPayloadSize }
        : {
            name: r.name,
            type: r.type,
            ttl: r.ttl,
            class: r.class,
            data: READ.has(r.type as string) ? r.data : undefined,
          },
    );
  return {
    id: m.id,
    type: m.type,
    flag_tc: m.flag_tc,
    opcode: m.opcode,
    rcode: m.rcode,
    questions: m.questions?.map((q) => ({ name: q.name, type: q.type, class: q.class })),
    answers: records(m.answers),
    authorities: records(m.authorities),
    additionals: records(m.additionals),
  };
}

// Labels of UTF-8 too (a byte count, not a character count, in the label's length).
const label = fc.stringMatching(/^[a-z0-9\u00fc][a-z0-9\u00e9-]{0,20}$/);
const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.'));
const ipv6 = fc.ipV6().map((address) => {
  // Written the way dns-packet writes what it reads: decode(encode(x)).
  const bytes = packet.encode({ type: 'response', answers: [aaaa('x', address)] });
  const [decoded] = packet.decode(bytes).answers ?? [];
  return (decoded as { data: string }).data;
});
const record = fc.oneof(
  fc
    .record({
      name,
      target: name,
      port: fc.integer({ min: 0, max: 65535 }),
      priority: fc.integer({ min: 0, max: 65535 }),
      weight: fc.integer({ min: 0, max: 65535 }),
    })
    .map((r) => srv(r.name, r.target, r.port, r.priority, r.weight)),
  fc.record({ name, address: fc.ipV4() }).map((r) => a(r.name, r.address)),
  fc.record({ name, address: ipv6 }).map((r) => aaaa(r.name, r.address)),
  fc.record({ name, target: name }).map((r) => cname(r.name, r.target)),
  // TTL and serial over the whole 32 bits: read unsigned.
  fc.record({ name, ttl: fc.integer({ min: 0, max: 0xffffffff }) }).map(
    (r) =>
      ({
        name: r.name,
        type: 'SOA',
        ttl: r.ttl,
        data: {
          mname: 'ns.kw',
          rname: 'host\\.master.kw',
          serial: r.ttl,
          refresh: 1,
          retry: 2,
          expire: 3,
          minimum: 60,
        },
      }) as packet.Answer,
  ),
  fc
    .record({ name, texts: fc.array(fc.string({ maxLength: 30 }), { maxLength: 3 }) })
    .map((r) => ({ name: r.name, type: 'TXT', ttl: 5, data: r.texts }) as packet.Answer),
  fc.record({ name, exchange: name }).map(
    (r) =>
      ({
        name: r.name,
        type: 'MX',
        ttl: 5,
        data: { preference: 10, exchange: r.exchange },
      }) as packet.Answer,
  ),
);
const message = fc.record({
  id: fc.integer({ min: 0, max: 65535 }),
  rcode: fc.constantFrom('NOERROR', 'NXDOMAIN', 'SERVFAIL', 'REFUSED'),
  truncated: fc.boolean(),
  question: fc.record({ name, type: fc.constantFrom('SRV', 'A', 'AAAA', 'CNAME', 'SOA', 'TXT') }),
  answers: fc.array(record, { maxLength: 5 }),
  authorities: fc.array(record, { maxLength: 2 }),
  additionals: fc.array(record, { maxLength: 4 }),
  edns: fc.boolean(),
});

describe('wire codec', () => {
  test('a query is the bytes dns-packet writes for it', () => {
    for (const [id, qname, type] of [
      [0, 'user.prod.kw', 'SRV'],
      [0xbeef, 'backend.host.kw.', 'A'],
      [65535, 'x.kw', 'AAAA'],
      [7, 'ünï.kw', 'TXT'],
      [9, '.', 'SOA'],
    ] as const) {
      const expected = packet.encode({
        type: 'query',
        id,
        flags: packet.RECURSION_DESIRED,
        questions: [{ name: qname, type, class: 'IN' }],
        additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] }],
      } as unknown as packet.Packet);
      assert.deepEqual(encodeQuery(id, qname, type, 1232), expected, `${qname} ${type}`);
    }
  });

  test('a query for a name with an empty or long label is refused, not sent', () => {
    assert.throws(() => encodeQuery(1, 'a..kw', 'SRV', 1232), /label is empty or over 63/);
    assert.throws(() => encodeQuery(1, `${'x'.repeat(64)}.kw`, 'SRV', 1232), /over 63/);
    assert.throws(() => encodeQuery(1, 'a.kw', 'HINFO', 1232), /type HINFO/);
  });

  test('any reply decodes to what dns-packet reads of it (fast-check)', () => {
    fc.assert(
      fc.property(message, (m) => {
        const bytes = packet.encode({
          type: 'response',
          id: m.id,
          flags:
            packet.AUTHORITATIVE_ANSWER |
            (m.truncated ? packet.TRUNCATED_RESPONSE : 0) |
            ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'].indexOf(m.rcode),
          questions: [{ ...m.question, class: 'IN' }],
          answers: m.answers,
          authorities: m.authorities,
          additionals: [
            ...m.additionals,
            ...(m.edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 4096 }] : []),
          ],
        } as packet.Packet);
        assert.deepEqual(readable(decodeMessage(bytes)), readable(packet.decode(bytes)));
      }),
      { numRuns: 1500 },
    );
  });

  test('compression pointers are followed backwards, and a loop is malformed', () => {
    // user.prod.kw SRV 0 0 80 a.<pointer to prod.kw>
    const header = Buffer.from([0, 1, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0]);
    const question = Buffer.concat([
      Buffer.from('\x04user\x04prod\x02kw\x00', 'latin1'),
      Buffer.from([0, 33, 0, 1]),
    ]);
    const answer = Buffer.concat([
      Buffer.from([0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 30, 0, 10, 0, 0, 0, 0, 0, 80]),
      Buffer.from([1, 97, 0xc0, 17]),
    ]);
    const bytes = Buffer.concat([header, question, answer]);
    assert.deepEqual(readable(decodeMessage(bytes)), readable(packet.decode(bytes)));
    const srvRecord = decodeMessage(bytes).answers?.[0] as { name: string; data: unknown };
    assert.equal(srvRecord.name, 'user.prod.kw');
    assert.deepEqual(srvRecord.data, { priority: 0, weight: 0, port: 80, target: 'a.prod.kw' });
    // A pointer to itself, and one forwards.
    for (const at of [12 + question.length, 12 + question.length + 2]) {
      const looped = Buffer.from(bytes);
      looped[12 + question.length + 1] = at;
      assert.throws(() => decodeMessage(looped), /Cannot decode name \(bad pointer\)/);
    }
  });

  test('an SRV or SOA record whose data is shorter than its fixed fields is malformed', () => {
    const header = Buffer.from([0, 1, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    for (const [type, what] of [
      [33, /SRV data \(shorter than 7 bytes\)/],
      [6, /SOA data \(shorter than 22 bytes\)/],
    ] as const) {
      // x.kw <type> IN TTL 30, rdlength 2, then a name the data would run on into.
      const record = Buffer.from([1, 120, 2, 107, 119, 0, 0, type, 0, 1, 0, 0, 0, 30, 0, 2, 0, 0]);
      const tail = Buffer.from('\x04more\x02kw\x00'.repeat(4), 'latin1');
      assert.throws(() => decodeMessage(Buffer.concat([header, record, tail])), what);
    }
  });

  test('a cut or changed reply decodes, or fails with Cannot decode: no other error (fast-check)', () => {
    const valid = packet.encode({
      type: 'response',
      id: 1,
      questions: [{ name: 'user.prod.kw', type: 'SRV', class: 'IN' }],
      answers: [cname('user.prod.kw', 'u2.prod.kw'), srv('u2.prod.kw', 'a.kw', 80)],
      authorities: [
        {
          name: 'kw',
          type: 'SOA',
          ttl: 5,
          data: { mname: 'ns.kw', rname: 'h.kw', serial: 1, minimum: 5 },
        } as packet.Answer,
      ],
      additionals: [a('a.kw', '127.0.0.2'), aaaa('a.kw', '::1')],
    });
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(valid.length - 1), value: fc.nat(255) }), {
          maxLength: 6,
        }),
        fc.integer({ min: 0, max: valid.length }),
        (flips, cut) => {
          const bytes = Buffer.from(valid);
          for (const { at, value } of flips) bytes[at] = value;
          const input = bytes.subarray(0, cut);
          try {
            decodeMessage(input);
          } catch (error) {
            assert.match((error as Error).message, /^Cannot decode /);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
