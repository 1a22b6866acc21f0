'use strict';
// The client of `svcdisc demo`: an unmodified program that asks http://user.prod.kw/ with
// Node's defaults (the keep-alive global agent), four at a time, for DEMO_SECONDS, and prints one line per request:
// "ok <answer>" or "fail <code>". It knows nothing of SRV; the preload does the rest.
const http = require('node:http');

const url = process.env.DEMO_URL ?? 'http://user.prod.kw/';
const until = Date.now() + Number(process.env.DEMO_SECONDS ?? 10) * 1000;

function ask() {
  return new Promise((resolve) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve(`ok ${body.trim()}`));
      })
      .on('error', (error) => resolve(`fail ${error.code ?? error.message}`));
  });
}

async function worker() {
  while (Date.now() < until) {
    process.stdout.write(`${await ask()}\n`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Promise.all([worker(), worker(), worker(), worker()]);
