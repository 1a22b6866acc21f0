// net.Socket.prototype.connect for service names: the one point every client passes through
// (http, https, fetch, tls, http2, ws, database drivers). Everything else goes straight to
// Node's connect after a string check. A service connect is made by service-connect.ts: at
// once from a warm cache, else once the SRV answer is there.
import type * as net from 'node:net';
import type { Endpoint } from '../discovery/service.js';
import type { ConnectContext } from './context.js';
import { CHOICE } from './pools.js';
import { ServiceConnect } from './service-connect.js';
import {
  type ConnectFn,
  normalizeArgs,
  type Socket,
  tagNormalized,
  tlsConnectOptions,
} from './socket.js';

/** Any valid port: the one of the URL does not matter, the SRV record's will be used. */
const PLACEHOLDER_PORT = 1;
const neverAnswers = () => {};

export function createConnectPatch(original: ConnectFn, context: ConnectContext): ConnectFn {
  return function connect(this: net.Socket, ...args: unknown[]): net.Socket {
    const normalized = normalizeArgs(args);
    const [options, callback] = normalized;
    const host = options.host;
    const socket = this as Socket;
    // Untouched: unix paths, no host, a socket wrapped by TLS whose parent is connecting.
    if (typeof host !== 'string' || options.path != null || socket._parent?.connecting) {
      return original.call(this, normalized);
    }
    const name = context.matcher(host) ?? context.synthetic.nameOf(host);
    if (name === undefined) return original.call(this, normalized);
    context.adoptPools();
    // The endpoint of the pool this connection is for (agent.ts, dispatcher.ts), if any.
    const preferred = (options[CHOICE as never] ?? tlsConnectOptions(socket)?.[CHOICE]) as
      | Endpoint
      | undefined;
    // The resolver's key: the name, or name:port where SVCDISC_SRV_NAME depends on the port.
    const key = context.pools.key(name, Number(options.port) || undefined);
    const service = new ServiceConnect(
      socket,
      (next, callback = null) => original.call(socket, tagNormalized([next, callback])),
      context,
      name,
      key,
      options,
      preferred,
    );
    // A pool's endpoint needs no fresh answer: it was chosen from one a moment ago.
    const warm =
      context.resolver().cached(key) ??
      (preferred && { name, query: name, ttl: 0, endpoints: [preferred] });
    if (warm) {
      // A warm cache: Node's connect, at once, to the chosen endpoint's address.
      service.startWarm(warm, callback);
    } else {
      // Node's connect, at once, with a lookup that never answers: it prepares the socket as
      // for any connect (handle, state, `connecting`), so writes and end() wait for 'connect'.
      // The real connect comes when the SRV answer is there, with the endpoint's port.
      original.call(
        this,
        tagNormalized([
          { ...options, host: name, port: PLACEHOLDER_PORT, lookup: neverAnswers },
          callback,
        ]),
      );
      service.start();
    }
    return this;
  };
}
