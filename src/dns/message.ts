// Building queries and deciding what a reply is worth. wire.ts does the wire format; this file
// decides which bytes to trust.
import { canonicalName } from './names.js';
import type { Reply } from './packet.js';
import { decodeMessage, encodeQuery } from './wire.js';

export type QueryType = 'SRV' | 'A' | 'AAAA' | 'CNAME' | 'SOA' | 'TXT';

export interface Question {
  name: string;
  type: QueryType;
}

/** EDNS0 UDP payload size (RFC 6891), the DNS Flag Day 2020 value that avoids fragmentation. */
export const EDNS_UDP_PAYLOAD = 1232;

/** A recursive query for one name and type, advertising EDNS0. */
export function buildQuery(id: number, question: Question): Buffer {
  return encodeQuery(id, question.name, question.type, EDNS_UDP_PAYLOAD);
}

export type ReplyCheck =
  /** Not a reply to this query (wrong ID, question or direction): drop it and keep waiting. */
  | { kind: 'ignored'; why: string }
  /** Carries this query's ID but cannot be decoded: the attempt has failed. */
  | { kind: 'malformed'; why: string }
  | { kind: 'reply'; message: Reply };

/** Checks a reply against the query it should answer. Never throws. */
export function checkReply(bytes: Buffer, id: number, question: Question): ReplyCheck {
  // Replies that don't match are skipped, not errors: they may be forgery attempts and the
  // real answer may still come (as Go's net package does).
  if (bytes.length < 12) return { kind: 'ignored', why: 'shorter than a DNS header' };
  if (bytes.readUInt16BE(0) !== id) return { kind: 'ignored', why: 'wrong ID' };
  let message: Reply;
  try {
    message = decodeMessage(bytes) as Reply;
  } catch (error) {
    return { kind: 'malformed', why: (error as Error).message };
  }
  if (message.type !== 'response' || message.opcode !== 'QUERY') {
    return { kind: 'ignored', why: 'not a response to a query' };
  }
  const asked = message.questions ?? [];
  const first = asked[0];
  if (
    asked.length !== 1 ||
    first === undefined ||
    canonicalName(first.name) !== canonicalName(question.name) ||
    first.type !== question.type ||
    first.class !== 'IN'
  ) {
    return { kind: 'ignored', why: 'wrong question' };
  }
  return { kind: 'reply', message };
}
