import { debuglog } from 'node:util';

/** `NODE_DEBUG=svcdisc` prints these lines on stderr. */
export const debug = debuglog('svcdisc');
