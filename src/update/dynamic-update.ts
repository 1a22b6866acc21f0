// RFC 2136 dynamic updates: add this instance's SRV record and its target's address, or delete
// exactly those, at the zone's primary, signed with TSIG when a key is configured.
import { hostPort, type Nameserver } from '../dns/names.js';
import { CLASS, encodeName, encodeRdata, rcodeName, TYPE, u16 } from '../dns/packet.js';
import { randomId, tcpRoundTrip } from '../dns/transport.js';
import { sign, verify } from '../dns/tsig.js';
import type { TsigKey } from '../dns/tsig-key.js';
import { UpdateError } from '../errors.js';

const OPCODE_UPDATE = 5;
/** The TXT record beside an instance's target that says until when it is valid (unix time,
 * s), for `svcdisc prune`. */
export const LEASE_PREFIX = 'svcdisc-lease=';
/** The string of the lease record naming who holds it. */
export const LEASE_HOLDER_PREFIX = 'svcdisc-holder=';
/** One instance of a service, as published. */
export interface Instance {
  /** The service name, e.g. user.prod.kw. */
  name: string;
  /** The instance's own name, the SRV target (inside the zone). */
  target: string;
  port: number;
  priority: number;
  weight: number;
  ttl: number;
  addresses: string[];
  /** Until when the registration holds without a refresh, unix time in s; none: no lease. */
  leaseUntil?: number;
  /** Who holds the lease (svcdisc dock: the Docker host), in the lease record beside it. */
  leaseHolder?: string;
}

interface Change {
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** RDATA with its 2-byte length, or none (length 0, for "delete an RRset"). */
  rdata: Buffer;
}

function record(change: Change): Buffer {
  const ttl = Buffer.alloc(4);
  ttl.writeUInt32BE(change.ttl);
  return Buffer.concat([
    encodeName(change.name),
    u16(change.type),
    u16(change.class),
    ttl,
    change.rdata,
  ]);
}

/** An UPDATE message for `zone` with the given changes (RFC 2136 2). */
export function updateMessage(zone: string, changes: Change[], id = randomId()): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(OPCODE_UPDATE << 11, 2);
  header.writeUInt16BE(1, 4); // ZOCOUNT
  header.writeUInt16BE(changes.length, 8); // UPCOUNT
  const zoneSection = Buffer.concat([encodeName(zone), u16(TYPE.SOA), u16(CLASS.IN)]);
  return Buffer.concat([header, zoneSection, ...changes.map(record)]);
}

const addressType = (address: string) => (address.includes(':') ? 'AAAA' : 'A');

/** Adds the instance: its SRV record, and its target's addresses (replacing any old ones). */
export function addChanges(instance: Instance): Change[] {
  const { name, target, port, priority, weight, ttl, addresses } = instance;
  return [
    // The target's address records are the instance's own: replace them whole.
    { name: target, type: TYPE.A, class: CLASS.ANY, ttl: 0, rdata: u16(0) },
    { name: target, type: TYPE.AAAA, class: CLASS.ANY, ttl: 0, rdata: u16(0) },
    ...addresses.map((address) => ({
      name: target,
      type: TYPE[addressType(address)],
      class: CLASS.IN,
      ttl,
      rdata: encodeRdata(addressType(address), address),
    })),
    {
      name,
      type: TYPE.SRV,
      class: CLASS.IN,
      ttl,
      rdata: encodeRdata('SRV', { priority, weight, port, target }),
    },
    // The lease, replaced (or removed: an announcement without one is permanent).
    { name: target, type: TYPE.TXT, class: CLASS.ANY, ttl: 0, rdata: u16(0) },
    ...(instance.leaseUntil === undefined
      ? []
      : [
          {
            name: target,
            type: TYPE.TXT,
            class: CLASS.IN,
            ttl,
            rdata: encodeRdata('TXT', [
              `${LEASE_PREFIX}${instance.leaseUntil}`,
              ...(instance.leaseHolder === undefined
                ? []
                : [`${LEASE_HOLDER_PREFIX}${instance.leaseHolder}`]),
            ]),
          },
        ]),
  ];
}

/** Adds one TXT record (an RRset may hold many: adding one already there changes nothing). */
export function addTxtChange(name: string, text: string, ttl: number): Change {
  return { name, type: TYPE.TXT, class: CLASS.IN, ttl, rdata: encodeRdata('TXT', text) };
}

/** Deletes the instance: its SRV record only (never the service's whole set), and its
 * target's addresses. */
export function deleteChanges(
  instance: Pick<Instance, 'name' | 'target' | 'port' | 'priority' | 'weight'>,
): Change[] {
  const { name, target, port, priority, weight } = instance;
  return [
    {
      name,
      type: TYPE.SRV,
      class: CLASS.NONE,
      ttl: 0,
      rdata: encodeRdata('SRV', { priority, weight, port, target }),
    },
    { name: target, type: TYPE.A, class: CLASS.ANY, ttl: 0, rdata: u16(0) },
    { name: target, type: TYPE.AAAA, class: CLASS.ANY, ttl: 0, rdata: u16(0) },
    { name: target, type: TYPE.TXT, class: CLASS.ANY, ttl: 0, rdata: u16(0) },
  ];
}

/** Sends an UPDATE over TCP (signed when `key` is given) and checks the reply (and its
 * signature). Resolves when the server applied it. */
export async function sendUpdate(
  server: Nameserver,
  message: Buffer,
  key: TsigKey | undefined,
  timeoutMs = 5000,
): Promise<void> {
  const { signed, mac } = key ? sign(message, key) : { signed: message, mac: undefined };
  const where = hostPort(server.address, server.port);
  const reply = await tcpRoundTrip<Buffer | UpdateError>(
    server,
    signed,
    timeoutMs,
    (bytes) => bytes,
    () =>
      new UpdateError('ETIMEOUT', `update to ${where}: no reply within ${timeoutMs} ms`, {
        reached: false,
      }),
    (error) =>
      new UpdateError(error.code ?? 'ECONNREFUSED', `update to ${where}: ${error.message}`, {
        reached: false,
        cause: error,
      }),
  );
  if (reply instanceof UpdateError) throw reply;
  if (reply.length < 12 || reply.readUInt16BE(0) !== message.readUInt16BE(0)) {
    throw new UpdateError('EBADRESP', `update to ${where}: the reply does not answer the update`);
  }
  const rcode = rcodeName(reply.readUInt16BE(2) & 0xf);
  if (key && mac) {
    const verdict = verify(reply, key, mac);
    if (!verdict.ok && rcode === 'NOERROR')
      throw new UpdateError('EBADSIG', `update to ${where}: ${verdict.why}`);
  }
  if (rcode !== 'NOERROR') {
    const hint =
      rcode === 'NOTAUTH' || rcode === 'REFUSED'
        ? key
          ? ' (is the key right, and allowed to update this zone?)'
          : ' (unsigned: does the zone need a TSIG key?)'
        : '';
    throw new UpdateError(rcode, `update to ${where} refused: ${rcode}${hint}`);
  }
}
