'use strict';
// A backend of `svcdisc demo`: a plain HTTP server on any free port that answers with its
// label. Run under the preload with SVCDISC_ANNOUNCE, it registers itself in DNS when it
// listens and withdraws its record on SIGTERM; nothing here knows about DNS.
//
// Stopping without failing a request: the record goes at once, but clients use their answer
// until its TTL ends, and a server that stops listening or closes pooled connections then
// races requests already on their way (a connection in the accept queue is reset; an idle
// one closed as a request is sent on it). So it goes on serving until the clients have moved
// (the record's TTL plus a margin: DEMO_DRAIN_MS), then closes.
const http = require('node:http');

const label = process.env.DEMO_LABEL ?? 'backend';
const drainMs = Number(process.env.DEMO_DRAIN_MS ?? 2500);
const server = http.createServer((_req, res) => res.end(label));
server.listen(0, '127.0.0.1');
process.once('SIGTERM', () => setTimeout(() => server.close(), drainMs));
