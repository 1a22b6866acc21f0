// http.Agent, and https.Agent which builds on it: a request to a service name gets an
// endpoint of its own (RFC 2782, per request) and the pool key names it, so the agent keeps
// and reuses sockets per endpoint and the weights hold per request. Where to hook
// (docs/node-internals.md): addRequest calls getName(A) with a fresh copy A of the request's
// options; a new socket is made from B, a copy of A, and every later 'free' and removeSocket
// of it calls getName(B) again. The choice (the endpoint and the key) is kept on A, so B (and
// the socket) carries it to the connect (net.createConnection(B), tls.connect(B)) and to every
// later getName.
import { debug } from '../debug.js';
import type { Endpoint } from '../discovery/service.js';
import type { Matcher } from './match.js';
import { CHOICE, type Choice, endpointKey, type IdlePools, type Pools } from './pools.js';
import type { Socket } from './socket.js';

type Options = Record<PropertyKey, unknown>;

export interface AgentPrototype {
  getName(options?: Options): string;
  keepSocketAlive(socket: unknown): boolean;
}

/** What getName reads of the agent: whether it ever reuses a socket. */
interface AgentState {
  keepAlive?: boolean;
  maxSockets?: number;
}

/** What Node's `getName` makes its key from (Node 20 to 26): `host:port:localAddress`, then
 * `:family` and `:socketPath` where set. */
const KEY_FIELDS = ['host', 'port', 'localAddress', 'family', 'socketPath'] as const;

/** An endpoint's choice for requests whose Node key is `node`, which is theirs too where their
 * KEY_FIELDS are these (and getName reads nothing else). */
type Memo = Required<Choice> &
  Partial<Record<(typeof KEY_FIELDS)[number], unknown>> & { node: string };

/** Whether `options` has the KEY_FIELDS values `choice` was made for (named reads, once each:
 * every keep-alive request to a service asks). */
function sameFields(choice: Memo, options: Options): boolean {
  return (
    choice.host === options.host &&
    choice.port === options.port &&
    choice.localAddress === options.localAddress &&
    choice.family === options.family &&
    choice.socketPath === options.socketPath
  );
}

/** The choice of each endpoint with the request fields of the last pool key of Node's it was
 * made for: one object for all the requests to an endpoint, not a new key string on each, and
 * one property added to the request's options (dictionary mode: docs/node-internals.md). Found
 * by comparing those fields, not Node's key: that key is a new concatenation on every request,
 * which V8 copies flat to compare (bench/README.md, the thirty-first pass). */
const choices = new WeakMap<Endpoint, Memo>();

/** Whether `getName` reads KEY_FIELDS of its options, nothing else of them and nothing of its
 * agent (a getName that reads more keeps the comparison of keys). */
function keyedByFields(getName: AgentPrototype['getName']): boolean {
  const watched = (read: Set<PropertyKey>) =>
    new Proxy(
      {},
      {
        get(_target, field) {
          read.add(field);
          return undefined;
        },
      },
    );
  const ofOptions = new Set<PropertyKey>();
  const ofAgent = new Set<PropertyKey>();
  try {
    getName.call(watched(ofAgent), watched(ofOptions));
  } catch {
    return false;
  }
  return (
    ofAgent.size === 0 &&
    ofOptions.size === KEY_FIELDS.length &&
    KEY_FIELDS.every((field) => ofOptions.has(field))
  );
}

/** Patches getName and keepSocketAlive of http.Agent.prototype; returns the undo. */
export function patchAgent(proto: AgentPrototype, pools: Pools, matcher: Matcher): () => void {
  const { getName, keepSocketAlive } = proto;
  const byFields = keyedByFields(getName);
  /** The choice of `endpoint` for a request with `options` to `agent`: the last one while the
   * request's fields (byFields) or else Node's key are those it was made for. */
  function choiceOf(endpoint: Endpoint, options: Options, agent: AgentState): Required<Choice> {
    const last = choices.get(endpoint);
    if (last !== undefined && byFields && sameFields(last, options)) return last;
    const node = getName.call(agent, options);
    if (last?.node === node) return last;
    const choice: Memo = { endpoint, key: `${node}|${endpointKey(endpoint)}`, node };
    for (const field of KEY_FIELDS) choice[field] = options[field];
    choices.set(endpoint, choice);
    return choice;
  }
  proto.getName = function getNameOfEndpoint(this: AgentState, options?: Options): string {
    const memo = (options?.[CHOICE] as Choice | undefined)?.key;
    if (memo !== undefined) return memo;
    // An agent that never reuses a socket (Node's own test in ClientRequest: neither keepAlive
    // nor a finite maxSockets; `agent: false` makes one per request) keeps Node's key: each of
    // its requests has a connection of its own, chosen per connection, which no pool holds.
    if (!this.keepAlive && !Number.isFinite(this.maxSockets)) return getName.call(this, options);
    const host = options?.host;
    // `_agentKey`: the options of a socket made before the patch, keyed by Node already.
    if (typeof host !== 'string' || options?._agentKey !== undefined) {
      return getName.call(this, options);
    }
    const name = matcher(host);
    if (name === undefined) return getName.call(this, options);
    // Never out of the program's request: without a choice it goes to a connection chosen
    // per connection, and a failure shows on that connection as for any.
    let endpoint: Endpoint | undefined;
    try {
      endpoint = pools.choose(pools.key(name, Number(options?.port) || undefined));
    } catch (error) {
      debug('no endpoint chosen for %s: %s', name, (error as Error).message);
    }
    const choice =
      endpoint === undefined
        ? { endpoint, key: getName.call(this, options) }
        : choiceOf(endpoint, options as Options, this);
    (options as Options)[CHOICE] = choice;
    return choice.key;
  };
  proto.keepSocketAlive = function keepServedSocketAlive(this: IdlePools, socket: unknown) {
    if (!pools.keep(socket as Socket, this)) return false;
    return keepSocketAlive.call(this, socket);
  };
  return () => {
    proto.getName = getName;
    proto.keepSocketAlive = keepSocketAlive;
  };
}

/** Reads process.moduleLoadList as it grows, to find http.Agent once the program has loaded
 * `http` or `https`, without loading either for a program that does not. */
export class AgentFinder {
  #seen = 0;
  /** The list itself, read once: Node appends to the same array (Node 20–24), and reading it
   * through the global `process` on each service connect of a program without `http` had 7 %
   * of svcdisc's own line ticks in a warm connect (bench/README.md, the fifteenth pass). */
  readonly #loaded = (process as unknown as { moduleLoadList?: string[] }).moduleLoadList;

  find(): AgentPrototype | undefined {
    const loaded = this.#loaded;
    if (!loaded || loaded.length === this.#seen) return undefined;
    let found: string | undefined;
    for (let i = this.#seen; i < loaded.length && !found; i++) {
      if (loaded[i] === 'NativeModule http' || loaded[i] === 'NativeModule https')
        found = loaded[i];
    }
    this.#seen = loaded.length;
    if (found === 'NativeModule http') return require('node:http').Agent.prototype;
    // https loads http.Agent's module without loading http: reach it through https.Agent.
    if (found) return Object.getPrototypeOf(require('node:https').Agent.prototype);
    return undefined;
  }
}
