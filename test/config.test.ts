import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  configFromEnv,
  ENV_VARIABLES,
  normalizeOptions,
  unknownVariableWarnings,
} from '../src/config.js';
import { withSystemDefaults } from '../src/discovery/settings.js';
import { parseNameserver } from '../src/dns/names.js';
import { parseResolvConf, readResolvConf } from '../src/dns/resolv-conf.js';
import { ConfigError } from '../src/errors.js';
import { tempDir } from './temp-dir.js';

const ROOT = join(__dirname, '..');

/** A bad value of every variable, and what the message must say is expected. */
// Variable, bad value, what the message says is expected, and how the value is shown (when not as it is).
const BAD: [string, string, RegExp, string?][] = [
  ['SVCDISC_DOMAINS', 'kw,-bad-', /domain names/],
  ['SVCDISC_DOMAINS', ',,', /at least one of domain names/],
  ['SVCDISC_NAMESERVERS', 'dns example', /ip, ip:port, \[ipv6\]:port, host or host:port/],
  ['SVCDISC_NAMESERVERS', 'dns:', /host or host:port \(port 1-65535\)/],
  ['SVCDISC_NAMESERVERS', '10.0.0.300', /ip, ip:port/],
  // A nameserver named under the intercepted domains would need svcdisc to find it.
  [
    'SVCDISC_NAMESERVERS',
    'ns.kw',
    /a nameserver name outside SVCDISC_DOMAINS \(kw\), or its address/,
  ],
  ['SVCDISC_NAMESERVERS', '10.0.0.1:0', /port 1-65535/],
  ['SVCDISC_NAMESERVERS', '[::1]:70000', /port 1-65535/],
  ['SVCDISC_SRV_NAME', '_http._tcp.example', /containing \{host\}/],
  ['SVCDISC_SRV_NAME', '_http _tcp.{host}', /containing \{host\}/],
  ['SVCDISC_TIMEOUT_MS', '0', /integer from 1 to 60000/],
  ['SVCDISC_TIMEOUT_MS', '1.5', /integer from 1 to 60000/],
  ['SVCDISC_ATTEMPTS', '11', /integer from 1 to 10/],
  ['SVCDISC_TCP', 'yes', /1 or 0/],
  ['SVCDISC_FALLBACK', 'off', /1 or 0/],
  ['SVCDISC_MIN_TTL', '-1', /integer from 0/],
  ['SVCDISC_MAX_TTL', 'ten', /integer from 0/],
  ['SVCDISC_STALE_TTL', '1e3', /integer from 0/],
  ['SVCDISC_CONNECT_TIMEOUT_MS', '0', /integer from 1 to 600000/],
  ['SVCDISC_DISABLE', '2', /1 or 0/],
  ['SVCDISC_ANNOUNCE', 'user..kw', /service names/],
  ['SVCDISC_ANNOUNCE', 'user.prod.kw:0', /name or name:port/],
  ['SVCDISC_UPDATE_SERVER', 'primary.kw', /a nameserver name outside SVCDISC_DOMAINS/],
  ['SVCDISC_UPDATE_SERVER', 'primary:x', /ip, ip:port/],
  // A TSIG key is shown without its secret.
  [
    'SVCDISC_TSIG_KEY',
    'key:hmac-sha256',
    /name:algorithm:base64secret/,
    'key:hmac-sha256:(secret hidden)',
  ],
  [
    'SVCDISC_TSIG_KEY',
    'key:hmac-foo:c2VjcmV0',
    /algorithm one of hmac-md5/,
    'key:hmac-foo:(secret hidden)',
  ],
  [
    'SVCDISC_TSIG_KEY',
    'key:hmac-sha256:not base64!',
    /base64secret/,
    'key:hmac-sha256:(secret hidden)',
  ],
  ['SVCDISC_ANNOUNCE_PRIORITY', '65536', /integer from 0 to 65535/],
  ['SVCDISC_ANNOUNCE_WEIGHT', 'x', /integer from 0 to 65535/],
  ['SVCDISC_ANNOUNCE_TTL', '86401', /integer from 0 to 86400/],
  ['SVCDISC_ANNOUNCE_ADDRESS', 'host.kw', /IPv4 or IPv6 address/],
];

describe('config', () => {
  test('a bad option is rejected with code ERR_SVCDISC_CONFIG naming the option and what is expected', () => {
    assert.throws(
      () => normalizeOptions({ timeoutMs: -1 }, configFromEnv({})),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.code, 'ERR_SVCDISC_CONFIG');
        assert.equal(error.setting, 'options.timeoutMs');
        assert.match(
          error.message,
          /^options\.timeoutMs=-1 is not valid: expected an integer from 1 to 60000/,
        );
        return true;
      },
    );
    assert.throws(
      () => normalizeOptions({ bogus: 1 } as never, configFromEnv({})),
      /options\.bogus=1 is not valid: expected one of the options/,
    );
    // A name every object inherits is not an option either.
    assert.throws(
      () => normalizeOptions({ toString: 1 } as never, configFromEnv({})),
      /options\.toString=1 is not valid: expected one of the options domains, nameservers,/,
    );
    assert.throws(
      () => normalizeOptions(null as never),
      /options=null is not valid: expected an object/,
    );
  });

  test('bug fix: a bad TSIG key never shows its secret, in the message, on the error or on stderr', () => {
    const secret = 'U2VjcmV0LWtleS0xMjM0NTY3ODkw!!';
    const value = `key.kw:hmac-sha256:${secret}`;
    for (const attempt of [
      () => configFromEnv({ SVCDISC_TSIG_KEY: value }),
      () => normalizeOptions({ tsigKey: value }, configFromEnv({})),
    ]) {
      assert.throws(attempt, (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /key\.kw:hmac-sha256:\(secret hidden\)/);
        assert.doesNotMatch(
          JSON.stringify({ ...error, message: error.message, stack: error.stack }),
          /U2VjcmV0/,
        );
        return true;
      });
    }
    const preload = spawnSync(
      process.execPath,
      ['-r', join(__dirname, '..', 'register.cjs'), '-e', '0'],
      {
        env: { PATH: process.env.PATH, SVCDISC_TSIG_KEY: value },
        encoding: 'utf8',
      },
    );
    assert.equal(preload.status, 1);
    assert.match(preload.stderr, /SVCDISC_TSIG_KEY="key\.kw:hmac-sha256:\(secret hidden\)"/);
    assert.doesNotMatch(preload.stderr, /U2VjcmV0/);
  });

  test('a misspelled SVCDISC_ variable gets one warning naming the closest known one; others are not looked at', () => {
    assert.deepEqual(
      unknownVariableWarnings({
        SVCDISC_NAMSERVERS: '127.0.0.1',
        SVCDISC_TIMEOUT: '100',
        SVCDISC_NAMESERVERS: '127.0.0.1',
        OTHER_VARIABLE: 'x',
      }),
      [
        'SVCDISC_NAMSERVERS is not a svcdisc variable and is ignored: did you mean SVCDISC_NAMESERVERS?',
        'SVCDISC_TIMEOUT is not a svcdisc variable and is ignored: did you mean SVCDISC_TIMEOUT_MS?',
      ],
    );
    assert.match(
      unknownVariableWarnings({ SVCDISC_SOMETHING_ELSE_ENTIRELY: '1' })[0] ?? '',
      /the known ones are SVCDISC_DOMAINS, /,
    );
    const preload = spawnSync(
      process.execPath,
      ['-r', join(__dirname, '..', 'register.cjs'), '-e', "console.log('ran')"],
      {
        env: { PATH: process.env.PATH, SVCDISC_NAMSERVERS: '127.0.0.1' },
        encoding: 'utf8',
      },
    );
    assert.equal(preload.stdout, 'ran\n');
    assert.equal(
      preload.stderr,
      'svcdisc: warning: SVCDISC_NAMSERVERS is not a svcdisc variable and is ignored: did you mean SVCDISC_NAMESERVERS?\n',
    );
  });

  test('every variable has its documented default when the environment is empty', () => {
    assert.deepEqual(configFromEnv({}), {
      domains: ['kw'],
      nameservers: undefined,
      srvName: '{host}',
      timeoutMs: undefined,
      attempts: undefined,
      tcp: false,
      fallback: true,
      minTtl: 0,
      maxTtl: 3600,
      staleTtl: 3600,
      connectTimeoutMs: 2000,
      disable: false,
      announce: [],
      updateServer: undefined,
      tsigKey: undefined,
      tsigKeyFile: undefined,
      announcePriority: 10,
      announceWeight: 100,
      announceTtl: 30,
      announceAddress: undefined,
      cacheSize: 1000,
    });
  });

  test('good values of every variable are parsed', () => {
    const config = configFromEnv({
      SVCDISC_DOMAINS: 'KW, prod.Example.',
      SVCDISC_NAMESERVERS: '10.0.0.1,10.0.0.2:5353,[::1]:53,fe80::1%eth0,dns,Bind.Local:5300',
      SVCDISC_SRV_NAME: '_http._tcp.{host}',
      SVCDISC_TIMEOUT_MS: '500',
      SVCDISC_ATTEMPTS: '3',
      SVCDISC_TCP: '1',
      SVCDISC_MIN_TTL: '5',
      SVCDISC_MAX_TTL: '60',
      SVCDISC_STALE_TTL: '0',
      SVCDISC_CONNECT_TIMEOUT_MS: '250',
      SVCDISC_DISABLE: 'true',
      SVCDISC_ANNOUNCE: 'user.prod.kw,Admin.prod.kw:9090',
      SVCDISC_UPDATE_SERVER: '10.0.0.1:5300',
      SVCDISC_TSIG_KEY: 'key.kw:hmac-sha256:c2VjcmV0c2VjcmV0',
      SVCDISC_ANNOUNCE_PRIORITY: '20',
      SVCDISC_ANNOUNCE_WEIGHT: '0',
      SVCDISC_ANNOUNCE_TTL: '10',
      SVCDISC_ANNOUNCE_ADDRESS: '::1',
    });
    assert.deepEqual(config.domains, ['kw', 'prod.example']);
    assert.deepEqual(config.nameservers, [
      { address: '10.0.0.1', port: 53, family: 4 },
      { address: '10.0.0.2', port: 5353, family: 4 },
      { address: '::1', port: 53, family: 6 },
      { address: 'fe80::1', port: 53, family: 6 },
      { host: 'dns', port: 53 },
      { host: 'bind.local', port: 5300 },
    ]);
    assert.equal(config.srvName, '_http._tcp.{host}');
    assert.equal(config.timeoutMs, 500);
    assert.equal(config.attempts, 3);
    assert.equal(config.tcp, true);
    assert.equal(config.minTtl, 5);
    assert.equal(config.maxTtl, 60);
    assert.equal(config.staleTtl, 0);
    assert.equal(config.connectTimeoutMs, 250);
    assert.equal(config.disable, true);
    assert.deepEqual(config.announce, [
      { name: 'user.prod.kw' },
      { name: 'admin.prod.kw', port: 9090 },
    ]);
    assert.deepEqual(config.updateServer, { address: '10.0.0.1', port: 5300, family: 4 });
    assert.deepEqual(config.tsigKey, {
      name: 'key.kw',
      algorithm: 'hmac-sha256',
      secret: 'c2VjcmV0c2VjcmV0',
    });
    assert.equal(config.announcePriority, 20);
    assert.equal(config.announceWeight, 0);
    assert.equal(config.announceTtl, 10);
    assert.equal(config.announceAddress, '::1');
  });

  test('an empty variable counts as unset', () => {
    assert.deepEqual(configFromEnv({ SVCDISC_DOMAINS: '', SVCDISC_TIMEOUT_MS: ' ' }).domains, [
      'kw',
    ]);
  });

  for (const [variable, value, expected, shown = value] of BAD) {
    test(`${variable}=${JSON.stringify(value)} is rejected naming the variable, the value and what is expected`, () => {
      assert.throws(
        () => configFromEnv({ [variable]: value }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.equal(error.setting, variable);
          assert.ok(
            error.message.startsWith(
              `${variable}=${JSON.stringify(shown)} is not valid: expected `,
            ),
            error.message,
          );
          assert.match(error.message, expected);
          return true;
        },
      );
    });
  }

  test('settings that conflict are rejected naming both', () => {
    assert.throws(
      () => configFromEnv({ SVCDISC_MIN_TTL: '60', SVCDISC_MAX_TTL: '30' }),
      /SVCDISC_MIN_TTL=60 is not valid: expected at most SVCDISC_MAX_TTL \(30\)/,
    );
    assert.throws(
      () =>
        configFromEnv({
          SVCDISC_TSIG_KEY: 'k:hmac-sha256:c2VjcmV0',
          SVCDISC_TSIG_KEYFILE: '/etc/k.key',
        }),
      /SVCDISC_TSIG_KEYFILE="\/etc\/k.key" is not valid: expected unset while SVCDISC_TSIG_KEY is set/,
    );
  });

  test('API options take the same values as the environment, typed or as strings', () => {
    const base = configFromEnv({ SVCDISC_DOMAINS: 'kw' });
    const config = normalizeOptions(
      { domains: ['svc.local'], nameservers: '127.0.0.1:5300', tcp: true, attempts: 1 },
      base,
    );
    assert.deepEqual(config.domains, ['svc.local']);
    assert.deepEqual(config.nameservers, [{ address: '127.0.0.1', port: 5300, family: 4 }]);
    assert.equal(config.tcp, true);
    assert.equal(config.attempts, 1);
    assert.throws(
      () => normalizeOptions({ tcp: 'yes' as never }, base),
      /options\.tcp="yes" is not valid: expected 1 or 0/,
    );
  });

  test('every variable of the contract is known', () => {
    assert.deepEqual(Object.values(ENV_VARIABLES).sort(), [
      'SVCDISC_ANNOUNCE',
      'SVCDISC_ANNOUNCE_ADDRESS',
      'SVCDISC_ANNOUNCE_PRIORITY',
      'SVCDISC_ANNOUNCE_TTL',
      'SVCDISC_ANNOUNCE_WEIGHT',
      'SVCDISC_ATTEMPTS',
      'SVCDISC_CONNECT_TIMEOUT_MS',
      'SVCDISC_DISABLE',
      'SVCDISC_DOMAINS',
      'SVCDISC_FALLBACK',
      'SVCDISC_MAX_TTL',
      'SVCDISC_MIN_TTL',
      'SVCDISC_NAMESERVERS',
      'SVCDISC_SRV_NAME',
      'SVCDISC_STALE_TTL',
      'SVCDISC_TCP',
      'SVCDISC_TIMEOUT_MS',
      'SVCDISC_TSIG_KEY',
      'SVCDISC_TSIG_KEYFILE',
      'SVCDISC_UPDATE_SERVER',
    ]);
  });

  test('the table of variables cannot be changed from outside: it is the one configFromEnv reads', () => {
    assert.throws(() => {
      (ENV_VARIABLES as Record<string, string>).domains = 'OTHER_DOMAINS';
    }, TypeError);
    assert.equal(ENV_VARIABLES.domains, 'SVCDISC_DOMAINS');
    assert.deepEqual(configFromEnv({ OTHER_DOMAINS: 'x', SVCDISC_DOMAINS: 'y' }).domains, ['y']);
  });

  test('parseNameserver takes ip, ip:port, [ipv6] and [ipv6]:port and nothing else', () => {
    assert.deepEqual(parseNameserver('127.0.0.1'), { address: '127.0.0.1', port: 53, family: 4 });
    assert.deepEqual(parseNameserver('[::1]'), { address: '::1', port: 53, family: 6 });
    assert.deepEqual(parseNameserver('[fe80::1%eth0]:5353'), {
      address: 'fe80::1',
      port: 5353,
      family: 6,
    });
    assert.deepEqual(parseNameserver('[0:0:0:0:0:0:0:1]:5300'), {
      address: '::1',
      port: 5300,
      family: 6,
    });
    assert.equal(parseNameserver('::1:53:x'), undefined);
    assert.equal(parseNameserver('256.0.0.1'), undefined);
    assert.equal(parseNameserver('127.0.0.1:'), undefined);
  });
});

describe('resolv.conf', () => {
  test('nameserver lines (IPv4, IPv6, zone ids) and options timeout/attempts are read', () => {
    const parsed = parseResolvConf(
      [
        '# generated',
        'search prod.kw',
        'nameserver 10.0.0.10',
        'nameserver fe80::1%eth0 ; link-local',
        'nameserver not-an-ip',
        'options ndots:5 timeout:3 attempts:4 rotate',
      ].join('\n'),
    );
    assert.deepEqual(parsed, {
      nameservers: [
        { address: '10.0.0.10', port: 53, family: 4 },
        { address: 'fe80::1', port: 53, family: 6 },
      ],
      timeoutS: 3,
      attempts: 4,
    });
  });

  test('lines are split as the patterns split them, and a comment ends a line (fast-check)', () => {
    // The words as the parse had them with patterns: up to `#` or `;`, at white space.
    const oldWords = (line: string) =>
      line
        .replace(/[#;].*$/, '')
        .trim()
        .split(/\s+/);
    const keywords = fc.constantFrom('nameserver', 'options', 'search', '#', ';', '#options');
    const words = fc.oneof(
      fc.constantFrom('timeout:2', 'attempts:3', 'ndots:1', '10.0.0.1', 'fe80::1%eth0', '#', ';'),
      fc.constantFrom('#x', ';y', 'a#b', 'x;attempts:4', ':9'),
      fc.string({ maxLength: 6 }),
    );
    const gaps = fc.constantFrom(' ', '\t', '  ', ' \t ');
    const line = fc
      .tuple(
        fc.constantFrom('', ' ', '\t'),
        keywords,
        fc.array(fc.tuple(gaps, words), { maxLength: 5 }),
      )
      .map(([lead, first, rest]) => lead + first + rest.map(([gap, each]) => gap + each).join(''))
      // Without line terminators but the one between lines: a pattern's `.` stops at them.
      .map((text) => text.replace(/[\n\r\u2028\u2029]/g, ' '));
    // Each line reduced to the words the patterns found, one space between them: the same
    // settings.
    fc.assert(
      fc.property(fc.array(line, { maxLength: 5 }), (lines) => {
        const text = lines.join('\n');
        const reduced = lines.map((each) => oldWords(each).join(' ')).join('\n');
        assert.deepEqual(parseResolvConf(text), parseResolvConf(reduced), text);
      }),
      { numRuns: 3000 },
    );
    // Any ASCII white space separates words, as \s did.
    assert.deepEqual(parseResolvConf('options\vtimeout:2\fattempts:3'), {
      nameservers: [],
      timeoutS: 2,
      attempts: 3,
    });
    // A file written with CRLF: the comment is one too (the pattern's `.` stopped at the CR).
    assert.deepEqual(parseResolvConf('nameserver 10.0.0.1\r\noptions timeout:2 # attempts:3\r\n'), {
      nameservers: [{ address: '10.0.0.1', port: 53, family: 4 }],
      timeoutS: 2,
    });
  });

  test("a missing file counts as empty, and the system defaults are glibc's, the timeout capped", () => {
    const dir = tempDir('resolv-conf');
    assert.deepEqual(readResolvConf(join(dir, 'missing')), { nameservers: [] });
    const settings = withSystemDefaults(configFromEnv({}), () =>
      readResolvConf(join(dir, 'missing')),
    );
    assert.deepEqual(settings.nameservers, [{ address: '127.0.0.1', port: 53, family: 4 }]);
    assert.equal(settings.timeoutMs, 2000);
    assert.equal(settings.attempts, 2);
    const file = join(dir, 'resolv.conf');
    writeFileSync(file, 'nameserver 10.1.2.3\noptions timeout:1 attempts:1\n');
    const fromFile = withSystemDefaults(configFromEnv({}), () => readResolvConf(file));
    assert.deepEqual(fromFile.nameservers, [{ address: '10.1.2.3', port: 53, family: 4 }]);
    assert.equal(fromFile.timeoutMs, 1000);
    assert.equal(fromFile.attempts, 1);
  });

  test('resolv.conf is not read when the environment sets everything it would give', () => {
    const config = configFromEnv({
      SVCDISC_NAMESERVERS: '10.0.0.1',
      SVCDISC_TIMEOUT_MS: '100',
      SVCDISC_ATTEMPTS: '1',
    });
    const settings = withSystemDefaults(config, () => assert.fail('resolv.conf was read'));
    assert.equal(settings.timeoutMs, 100);
  });
});

describe('the preload and the environment', () => {
  const run = (env: Record<string, string>, flag = '--require') =>
    spawnSync(process.execPath, [flag, join(ROOT, 'register.cjs'), '-e', 'console.log("ran")'], {
      env: { PATH: process.env.PATH, ...env },
      encoding: 'utf8',
    });

  test('a bad value stops the program at start with a message naming the variable', () => {
    for (const flag of ['--require', '--import']) {
      const result = run({ SVCDISC_ATTEMPTS: 'many' }, flag);
      assert.equal(result.status, 1);
      assert.equal(result.stdout, '');
      assert.equal(
        result.stderr,
        'svcdisc: SVCDISC_ATTEMPTS="many" is not valid: expected an integer from 1 to 10 (attempts per nameserver)\n',
      );
    }
  });

  test('every variable with a bad value stops start-up, naming the variable and the value', () => {
    for (const [variable, value, , shown = value] of BAD) {
      const result = run({ [variable]: value });
      assert.equal(result.status, 1, `${variable}=${value} did not stop the program`);
      assert.ok(
        result.stderr.startsWith(
          `svcdisc: ${variable}=${JSON.stringify(shown)} is not valid: expected `,
        ),
        result.stderr,
      );
      assert.equal(result.stdout, '');
    }
  });

  test('good values, and SVCDISC_DISABLE=1 with anything else, let the program run', () => {
    assert.equal(
      run({ SVCDISC_DOMAINS: 'kw,svc', SVCDISC_NAMESERVERS: '127.0.0.1:5300' }).stdout,
      'ran\n',
    );
    for (const value of ['1', 'true', ' TRUE\n']) {
      const disabled = run({ SVCDISC_DISABLE: value, SVCDISC_ATTEMPTS: 'many' });
      assert.equal(disabled.status, 0, JSON.stringify(value));
      assert.equal(disabled.stdout, 'ran\n');
    }
    for (const value of ['0', 'false', '']) {
      const enabled = run({ SVCDISC_DISABLE: value, SVCDISC_ATTEMPTS: 'many' });
      assert.equal(enabled.status, 1, JSON.stringify(value));
      assert.match(enabled.stderr, /SVCDISC_ATTEMPTS="many" is not valid/);
    }
  });
});
