import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createMatcher, hostnameOf } from '../src/patch/match.js';
import { SyntheticAddresses } from '../src/patch/synthetic.js';

describe('createMatcher', () => {
  const match = createMatcher(['kw', 'svc.local']);

  test('the domain itself and every name under it, case-insensitive, a trailing dot ignored', () => {
    assert.equal(match('kw'), 'kw');
    assert.equal(match('user.prod.kw'), 'user.prod.kw');
    assert.equal(match('User.Prod.KW.'), 'user.prod.kw');
    assert.equal(match('db.svc.local'), 'db.svc.local');
    assert.equal(match('SVC.LOCAL'), 'svc.local');
  });

  test('names that only end like a domain, and everything else, are not', () => {
    for (const host of [
      'awkw',
      'kw.example',
      'localhost',
      '127.0.0.1',
      '::1',
      '',
      '.',
      'xsvc.local',
      'kwx',
    ]) {
      assert.equal(match(host), undefined, host);
    }
  });

  test('a name asked again gets the same answer, whatever was asked in between', () => {
    const fresh = createMatcher(['kw']);
    // The first name asked of a matcher: nothing matched before it stands for it.
    assert.equal(fresh(''), undefined);
    for (const [host, name] of [
      ['User.Prod.KW', 'user.prod.kw'],
      ['User.Prod.KW', 'user.prod.kw'],
      ['example.com', undefined],
      ['User.Prod.KW', 'user.prod.kw'],
      ['db.kw.', 'db.kw'],
      ['', undefined],
      ['db.kw.', 'db.kw'],
      ['User.Prod.KW', 'user.prod.kw'],
    ] as const) {
      assert.equal(fresh(host), name, host);
    }
  });
});

describe('hostnameOf', () => {
  test('the host of an origin or URL: before its port, path, query or fragment', () => {
    for (const [url, host] of [
      ['http://user.prod.kw', 'user.prod.kw'],
      ['https://user.prod.kw:8443', 'user.prod.kw'],
      ['http://user.prod.kw/path?q=1', 'user.prod.kw'],
      ['http://user.prod.kw?q=other.kw', 'user.prod.kw'],
      ['http://user.prod.kw#x', 'user.prod.kw'],
      ['http://127.0.0.1:1/x?y.prod.kw', '127.0.0.1'],
    ] as const) {
      assert.equal(hostnameOf(url), host, url);
    }
    assert.equal(hostnameOf(new URL('http://User.Prod.kw:81/')), 'user.prod.kw');
  });

  test('none for an IPv6 literal, a relative URL or anything but a string or URL', () => {
    for (const value of ['http://[::1]:80/', '/path', 'user.prod.kw', undefined, 42, {}]) {
      assert.equal(hostnameOf(value), undefined, String(value));
    }
  });
});

describe('SyntheticAddresses', () => {
  test('one stable IPv4 and IPv6 address per name, mapped back to it', () => {
    const synthetic = new SyntheticAddresses();
    const user = synthetic.addressesOf('user.prod.kw');
    const db = synthetic.addressesOf('db.prod.kw');
    assert.deepEqual(user, { v4: '198.18.0.1', v6: '2001:2::1' });
    assert.deepEqual(db, { v4: '198.18.0.2', v6: '2001:2::2' });
    assert.deepEqual(synthetic.addressesOf('user.prod.kw'), user);
    assert.equal(synthetic.nameOf(user.v4), 'user.prod.kw');
    assert.equal(synthetic.nameOf(db.v6), 'db.prod.kw');
    assert.equal(synthetic.nameOf('198.18.0.3'), undefined);
    assert.equal(synthetic.nameOf('10.0.0.1'), undefined);
  });
});
