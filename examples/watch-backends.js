'use strict';
// An unmodified program with Node's defaults: it asks one URL with fetch (whose connections
// are kept alive and reused), again and again, and prints one line per answer: the backend's
// body, or `error <code>`. Nothing in it knows about SRV records; run it under the preload:
//
//   NODE_OPTIONS="--require svcdisc/register" SVCDISC_NAMESERVERS=172.30.77.1:5300 \
//     node examples/watch-backends.js http://grounduser.dev.kw/
//
// and the answers come from the endpoints of grounduser.dev.kw in proportion to their SRV
// weights, and from the others only once one is stopped. Runs until it is stopped.
const url = process.argv[2] ?? 'http://grounduser.dev.kw/';
const pauseMs = Number(process.argv[3] ?? 5);

async function main() {
  for (;;) {
    try {
      const res = await fetch(url);
      console.log((await res.text()).trim());
    } catch (error) {
      console.log(`error ${error.cause?.code ?? error.message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}

// As a container's first process, SIGTERM ends it only with a handler.
process.on('SIGTERM', () => process.exit(0));
main();
