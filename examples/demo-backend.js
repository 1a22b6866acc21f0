'use strict';
// A backend of `svcdisc demo`: a plain HTTP server on any free port that answers with its
// label, and shuts down gracefully on SIGTERM (requests in flight finish). Run under the
// preload with SVCDISC_ANNOUNCE, it registers itself in DNS when it listens and withdraws
// when it closes; nothing here knows about DNS.
const http = require('node:http');

const label = process.env.DEMO_LABEL ?? 'backend';
const server = http.createServer({ keepAliveTimeout: 100 }, (_req, res) => res.end(label));
server.listen(0, '127.0.0.1');
process.once('SIGTERM', () => server.close());
