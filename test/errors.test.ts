import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getSystemErrorName } from 'node:util';
import * as errors from '../src/errors.js';

// dist/ is built by `npm test` before the tests run: a second copy of every module.
const otherCopy = require('../dist/errors.js') as typeof errors;

test('errors of another copy of svcdisc match instanceof by their kind, and only theirs', () => {
  assert.notEqual(otherCopy.ConfigError, errors.ConfigError);
  const config = new otherCopy.ConfigError('SVCDISC_TCP', 'x', '1 or 0');
  assert.ok(config instanceof errors.ConfigError);
  assert.ok(config instanceof errors.SvcdiscError);
  assert.ok(!(config instanceof errors.DnsError));
  const dns = new otherCopy.DnsError('ENOTFOUND', { hostname: 'a.kw', query: 'a.kw' });
  assert.ok(dns instanceof errors.DnsError);
  assert.ok(!(dns instanceof errors.ConfigError));
  // An error that merely carries the code is not svcdisc's.
  const lookalike = Object.assign(new Error('x'), { code: 'ERR_SVCDISC_CONFIG' });
  assert.ok(!(lookalike instanceof errors.ConfigError));
  assert.ok(!(lookalike instanceof errors.SvcdiscError));
  assert.ok(new errors.ConfigError('a', 1, 'b') instanceof Error);
  assert.equal(config.name, 'ConfigError');
  assert.deepEqual(Object.keys(config), ['code', 'setting', 'value', 'expected']);
});

test('every svcdisc error has a fixed code: ERR_SVCDISC_*, or the Node code programs test for', () => {
  const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
    code: 'ECONNREFUSED',
    errno: -111,
    address: '127.0.0.1',
    port: 1,
  });
  const made = [
    new errors.ConfigError('SVCDISC_TCP', 'x', '1 or 0'),
    new errors.AlreadyInstalledError(),
    new errors.UpdateError('NOTAUTH', 'refused'),
    new errors.AnnounceError('no SOA'),
    new errors.ZoneError('a.zone', 3, 'bad'),
    new errors.ListenError('in use', cause),
    new errors.UsageError('no name'),
  ];
  for (const error of made) assert.match(error.code, /^ERR_SVCDISC_[A-Z]+$/, error.name);
  const connect = new errors.ServiceConnectError(cause, ['127.0.0.1:1', '[::1]:2'], 'a.kw');
  assert.equal(connect.code, 'ECONNREFUSED');
  assert.equal(connect.errno, -111);
  assert.equal(connect.syscall, 'connect');
  assert.equal(connect.cause, cause);
  assert.match(
    connect.message,
    /^connect ECONNREFUSED 127\.0\.0\.1:1 \(a\.kw: tried 127\.0\.0\.1:1, \[::1\]:2\)$/,
  );
  const timeout = new errors.ConnectTimeoutError('::1', 80, 250);
  assert.equal(getSystemErrorName(timeout.errno), 'ETIMEDOUT');
  assert.equal(timeout.message, 'connect ETIMEDOUT [::1]:80 (no answer within 250 ms)');
});
