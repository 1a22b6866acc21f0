// net.Socket.prototype.connect for service names: the one point every client passes through
// (http, https, fetch, tls, http2, ws, database drivers). Everything else goes straight to
// Node's connect after a string check. A service connect is the service side's
// (service-connect.ts), loaded with it on the first service name.
import type * as net from 'node:net';
import type { Matcher } from './match.js';
import type { ServiceSide } from './side.js';
import { type ConnectFn, normalizeArgs, type Socket } from './socket.js';

/** `loaded` gives the service side if it is loaded, `load` loads it. */
export function createConnectPatch(
  original: ConnectFn,
  matcher: Matcher,
  loaded: () => ServiceSide | undefined,
  load: () => ServiceSide,
): ConnectFn {
  return function connect(this: net.Socket, ...args: unknown[]): net.Socket {
    const normalized = normalizeArgs(args);
    const options = normalized[0];
    const host = options.host;
    // Untouched: unix paths, no host, a socket wrapped by TLS whose parent is connecting.
    if (typeof host !== 'string' || options.path != null || (this as Socket)._parent?.connecting) {
      return original.call(this, normalized);
    }
    // A synthetic address (dns-lookup.ts) is handed out only once the side is loaded.
    const name = matcher(host) ?? loaded()?.nameOf(host);
    if (name === undefined) return original.call(this, normalized);
    return load().connect(this, normalized, name);
  };
}
