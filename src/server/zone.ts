// RFC 1035 master files (section 5), the format BIND, Knot and NSD load: $ORIGIN, $TTL, @,
// relative and absolute names, omitted owner/TTL/class, parentheses across lines, comments,
// quoted strings; records SOA, NS, SRV, A, AAAA, CNAME, TXT.
import { isIP } from 'node:net';
import { isLabel } from '../dns/names.js';
import type { Answer, SoaAnswer } from '../dns/packet.js';
import { ZoneError } from '../errors.js';

export interface Zone {
  /** The zone's apex, lower case, without the trailing dot. */
  origin: string;
  soa: SoaAnswer;
  records: Answer[];
}

const TYPES = new Set(['SOA', 'NS', 'SRV', 'A', 'AAAA', 'CNAME', 'TXT']);
const CLASSES = new Set(['IN']);
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** A logical entry: the tokens of one record (parentheses joined), where it starts, and
 * whether it began with blank space (owner omitted). */
interface Entry {
  tokens: string[];
  line: number;
  ownerOmitted: boolean;
}

/** Splits master-file text into entries: comments dropped, quotes kept whole, parentheses
 * joining lines (RFC 1035 5.1). */
function entries(text: string, fail: (line: number, reason: string) => never): Entry[] {
  const out: Entry[] = [];
  let current: Entry | undefined;
  let depth = 0;
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n] as string;
    if (depth === 0) {
      current = { tokens: [], line: n + 1, ownerOmitted: /^[ \t]/.test(line) };
    }
    let i = 0;
    while (i < line.length) {
      const c = line[i] as string;
      if (c === ';') break;
      if (c === ' ' || c === '\t') {
        i++;
      } else if (c === '(') {
        depth++;
        i++;
      } else if (c === ')') {
        if (depth === 0) fail(n + 1, 'unbalanced ")"');
        depth--;
        i++;
      } else if (c === '"') {
        let value = '';
        i++;
        while (i < line.length && line[i] !== '"') {
          if (line[i] === '\\' && i + 1 < line.length) i++;
          value += line[i];
          i++;
        }
        if (i >= line.length) fail(n + 1, 'unterminated quoted string');
        i++;
        current?.tokens.push(value);
      } else {
        let value = '';
        while (i < line.length && !' \t;()"'.includes(line[i] as string)) {
          if (line[i] === '\\' && i + 1 < line.length) {
            value += line[i];
            i++;
          }
          value += line[i];
          i++;
        }
        current?.tokens.push(value);
      }
    }
    if (depth === 0 && current && current.tokens.length > 0) out.push(current);
  }
  if (depth > 0)
    fail(current?.line ?? lines.length, 'unbalanced "(": the file ends inside parentheses');
  return out;
}

/** A TTL: seconds, or BIND's units (1h30m); undefined if the token is not one. */
function parseTtl(token: string): number | undefined {
  if (/^\d+$/.test(token)) return Number(token);
  const parts = /^(?:\d+[smhdw])+$/i.test(token) ? token.toLowerCase().match(/\d+[smhdw]/g) : null;
  return parts?.reduce(
    (sum, part) => sum + Number(part.slice(0, -1)) * (UNITS[part.slice(-1)] ?? 0),
    0,
  );
}

export interface ParseOptions {
  /** For messages. @default '<zone>' */
  file?: string;
  /** The origin before any $ORIGIN line, e.g. from the zone statement. */
  origin?: string;
}

/** Parses a master file; throws ZoneError with file:line and the reason. */
export function parseZone(text: string, options: ParseOptions = {}): Zone {
  const file = options.file ?? '<zone>';
  const fail = (line: number, reason: string): never => {
    throw new ZoneError(file, line, reason);
  };
  // The origin given from outside is absolute whether or not it ends with a dot.
  let origin =
    options.origin === undefined
      ? undefined
      : absolute(options.origin.replace(/\.?$/, '.'), undefined, 0, fail);
  let defaultTtl: number | undefined;
  let lastTtl: number | undefined;
  let lastOwner: string | undefined;
  const records: Answer[] = [];
  /** The line of each record, for errors found once the whole file is read. */
  const lineOf = new Map<Answer, number>();

  for (const entry of entries(text, fail)) {
    const tokens = entry.tokens;
    const at = entry.line;
    const first = tokens[0] as string;
    if (first.startsWith('$')) {
      const directive = first.toUpperCase();
      if (directive === '$ORIGIN')
        origin = absolute(tokens[1] ?? fail(at, '$ORIGIN needs a name'), undefined, at, fail);
      else if (directive === '$TTL')
        defaultTtl =
          parseTtl(tokens[1] ?? '') ?? fail(at, `$TTL needs a time, not "${tokens[1] ?? ''}"`);
      else fail(at, `${first} is not supported (only $ORIGIN and $TTL)`);
      continue;
    }
    let rest = tokens;
    let owner: string;
    if (entry.ownerOmitted) {
      owner = lastOwner ?? fail(at, 'the first record needs an owner name');
    } else {
      owner = absolute(first, origin, at, fail);
      rest = tokens.slice(1);
    }
    lastOwner = owner;
    let ttl: number | undefined;
    while (rest.length > 0) {
      const head = rest[0] as string;
      const asTtl = parseTtl(head);
      if (asTtl !== undefined && ttl === undefined) ttl = asTtl;
      else if (CLASSES.has(head.toUpperCase())) {
        /* the only class served */
      } else break;
      rest = rest.slice(1);
    }
    const type = (rest[0] ?? fail(at, 'a record type is missing')).toUpperCase();
    if (!TYPES.has(type))
      fail(at, `record type "${rest[0]}" is not supported (${[...TYPES].join(', ')})`);
    const data = rest.slice(1);
    if (ttl !== undefined) lastTtl = ttl;
    const recordTtl =
      ttl ?? defaultTtl ?? lastTtl ?? fail(at, 'no TTL: give one, or a $TTL line before');
    const parsed = record(type, owner, recordTtl, data, origin, at, fail);
    records.push(parsed);
    lineOf.set(parsed, at);
  }

  const soas = records.filter((r): r is SoaAnswer => r.type === 'SOA');
  if (soas.length === 0) fail(1, 'the zone has no SOA record');
  if (soas.length > 1)
    fail(lineOf.get(soas[1] as Answer) ?? 1, 'the zone has more than one SOA record');
  const soa = soas[0] as SoaAnswer;
  for (const r of records) {
    if (r.name !== soa.name && !r.name.endsWith(`.${soa.name}`)) {
      fail(lineOf.get(r) ?? 1, `${r.name} is outside the zone ${soa.name || '.'}`);
    }
  }
  return { origin: soa.name, soa, records };
}

/** A name made absolute: `@` is the origin, a name without a final dot is relative to it. */
function absolute(
  name: string,
  origin: string | undefined,
  line: number,
  fail: (line: number, reason: string) => never,
): string {
  let full: string;
  if (name === '@') full = origin ?? fail(line, '"@" needs an origin ($ORIGIN)');
  else if (name.endsWith('.')) full = name === '.' ? '' : name.slice(0, -1);
  else if (origin === undefined) fail(line, `"${name}" is relative but there is no $ORIGIN`);
  else full = origin === '' ? name : `${name}.${origin}`;
  full = full.toLowerCase();
  if (
    full.length > 253 ||
    (full !== '' && !full.split('.').every((label) => label === '*' || isLabel(label)))
  ) {
    fail(line, `"${name}" is not a valid domain name`);
  }
  return full;
}

function record(
  type: string,
  name: string,
  ttl: number,
  data: string[],
  origin: string | undefined,
  line: number,
  fail: (line: number, reason: string) => never,
): Answer {
  const count = (n: number, shape: string) => {
    if (data.length !== n) fail(line, `${type} needs ${shape}, got ${data.length} field(s)`);
  };
  const u16 = (text: string | undefined, what: string) => {
    const n = Number(text);
    if (!/^\d+$/.test(text ?? '') || n > 65535)
      fail(line, `${type} ${what} must be 0-65535, not "${text}"`);
    return n;
  };
  const time = (text: string | undefined, what: string) =>
    parseTtl(text ?? '') ?? fail(line, `${type} ${what} must be a time, not "${text}"`);
  const target = (text: string | undefined) => absolute(text ?? '', origin, line, fail) || '.';
  switch (type) {
    case 'A':
    case 'AAAA': {
      count(1, 'an address');
      const family = type === 'A' ? 4 : 6;
      if (isIP(data[0] as string) !== family)
        fail(line, `${type} needs an IPv${family} address, not "${data[0]}"`);
      return { type, name, ttl, data: data[0] as string };
    }
    case 'CNAME':
    case 'NS':
      count(1, 'a name');
      return { type, name, ttl, data: target(data[0]) };
    case 'SRV':
      count(4, 'priority weight port target');
      return {
        type,
        name,
        ttl,
        data: {
          priority: u16(data[0], 'priority'),
          weight: u16(data[1], 'weight'),
          port: u16(data[2], 'port'),
          target: target(data[3]),
        },
      };
    case 'TXT':
      if (data.length === 0) fail(line, 'TXT needs at least one string');
      return { type, name, ttl, data };
    default: {
      count(7, 'mname rname serial refresh retry expire minimum');
      const serial = Number(data[2]);
      if (!/^\d+$/.test(data[2] ?? '') || serial > 0xffffffff)
        fail(line, `SOA serial must be 0-4294967295, not "${data[2]}"`);
      return {
        type: 'SOA',
        name,
        ttl,
        data: {
          mname: target(data[0]),
          rname: target(data[1]),
          serial,
          refresh: time(data[3], 'refresh'),
          retry: time(data[4], 'retry'),
          expire: time(data[5], 'expire'),
          minimum: time(data[6], 'minimum'),
        },
      };
    }
  }
}
