// What a container is in DNS (src/dock/container.ts), from inspect answers shaped as the
// Docker API gives them; the daemon itself is in integration/dock.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { outcomeOf, repositoryName } from '../src/dock/container.js';
import type { ContainerDetails } from '../src/dock/docker.js';
import { parseDockerUrl } from '../src/dock/docker.js';

function container(overrides: {
  image?: string;
  labels?: Record<string, string>;
  exposed?: string[];
  state?: Partial<ContainerDetails['State']>;
  networks?: Record<string, string>;
  published?: Record<string, string>;
  stopSignal?: string;
}): ContainerDetails {
  return {
    Id: '3f2a9c1d0b7e55aa66bb77cc88dd99ee00ff11223344556677889900aabbccdd',
    Config: {
      Image: overrides.image ?? 'fabware/grounduser:1.2',
      Labels: overrides.labels ?? {},
      ExposedPorts: Object.fromEntries((overrides.exposed ?? ['8080/tcp']).map((p) => [p, {}])),
      StopSignal: overrides.stopSignal,
    },
    State: { Running: true, Paused: false, ...overrides.state },
    NetworkSettings: {
      Networks: Object.fromEntries(
        Object.entries(overrides.networks ?? { front: '172.30.0.3', back: '172.31.0.3' }).map(
          ([name, address]) => [name, { IPAddress: address }],
        ),
      ),
      Ports: Object.fromEntries(
        Object.entries(overrides.published ?? {}).map(([port, host]) => [
          port,
          [{ HostIp: '0.0.0.0', HostPort: host }],
        ]),
      ),
    },
  };
}

const settings = { zoneSuffix: 'dev.kw' };

test('the name is the image repository without registry, namespace, tag or digest', () => {
  assert.equal(repositoryName('registry:5000/fabware/grounduser:1.2'), 'grounduser');
  assert.equal(repositoryName('grounduser'), 'grounduser');
  assert.equal(repositoryName('fabware/grounduser@sha256:abc'), 'grounduser');
  assert.equal(repositoryName('localhost:5000/redis:7@sha256:abc'), 'redis');
});

test('a running container: one SRV record at its short id, its lowest TCP port and first network', () => {
  assert.deepEqual(
    outcomeOf(container({ exposed: ['9000/tcp', '8080/tcp', '53/udp'] }), settings),
    {
      kind: 'register',
      registration: {
        name: 'grounduser.dev.kw',
        shortId: '3f2a9c1d0b7e',
        target: '3f2a9c1d0b7e.grounduser.dev.kw',
        address: '172.30.0.3',
        port: 8080,
        priority: 10,
        weight: 100,
      },
    },
  );
  const onBack = outcomeOf(container({}), { ...settings, network: 'back' });
  assert.equal(onBack.kind === 'register' && onBack.registration.address, '172.31.0.3');
  const published = outcomeOf(container({ published: { '8080/tcp': '32768' } }), {
    ...settings,
    publishAddress: '192.0.2.7',
  });
  assert.equal(
    published.kind === 'register' &&
      `${published.registration.address}:${published.registration.port}`,
    '192.0.2.7:32768',
  );
});

test('labels: name, port, priority, weight, ignore; bad values are said, not guessed', () => {
  const labelled = outcomeOf(
    container({
      labels: {
        'svcdisc.name': 'Cache',
        'svcdisc.port': '6379',
        'svcdisc.priority': '20',
        'svcdisc.weight': '7',
      },
    }),
    settings,
  );
  assert.deepEqual(
    labelled.kind === 'register' && [
      labelled.registration.name,
      labelled.registration.port,
      labelled.registration.priority,
      labelled.registration.weight,
    ],
    ['cache.dev.kw', 6379, 20, 7],
  );
  assert.deepEqual(outcomeOf(container({ labels: { 'svcdisc.ignore': 'true' } }), settings), {
    kind: 'skipped',
    why: 'label svcdisc.ignore',
  });
  assert.deepEqual(outcomeOf(container({ labels: { 'svcdisc.weight': 'heavy' } }), settings), {
    kind: 'skipped',
    why: 'label svcdisc.weight="heavy" is not 0-65535',
  });
  assert.deepEqual(outcomeOf(container({ exposed: [] }), settings), {
    kind: 'skipped',
    why: 'no exposed TCP port and no label svcdisc.port',
  });
});

test('stopped, paused and not healthy are absent; healthy is registered', () => {
  const why = (state: Partial<ContainerDetails['State']>) => {
    const outcome = outcomeOf(container({ state }), settings);
    return outcome.kind === 'register' ? 'registered' : outcome.why;
  };
  assert.equal(why({ Running: false }), 'not running');
  assert.equal(why({ Paused: true }), 'paused');
  assert.equal(why({ Health: { Status: 'starting' } }), 'starting');
  assert.equal(why({ Health: { Status: 'unhealthy' } }), 'unhealthy');
  assert.equal(why({ Health: { Status: 'healthy' } }), 'registered');
});

test('a running container sent a signal that stops it is withdrawn during its grace; a reload signal leaves it', () => {
  const why = (signals: string[], stopSignal?: string) => {
    const outcome = outcomeOf(container({ stopSignal }), settings, signals);
    return outcome.kind === 'register' ? 'registered' : outcome.why;
  };
  assert.equal(why([]), 'registered');
  assert.equal(why(['15']), 'stopping'); // docker stop
  assert.equal(why(['9']), 'stopping'); // docker kill
  assert.equal(why(['1']), 'registered'); // docker kill -s HUP: nginx reloads
  assert.equal(why(['1', '15']), 'stopping');
  assert.equal(why(['12']), 'registered'); // SIGUSR2
  assert.equal(why(['12'], 'SIGUSR2'), 'stopping'); // ... the image's STOPSIGNAL
  assert.equal(why(['12'], 'USR2'), 'stopping');
  assert.equal(why(['12'], '12'), 'stopping');
});

test('the daemon is unix:///PATH or tcp://HOST:PORT', () => {
  assert.deepEqual(parseDockerUrl('unix:///var/run/docker.sock'), {
    socketPath: '/var/run/docker.sock',
  });
  assert.deepEqual(parseDockerUrl('tcp://10.0.0.5:2375'), { host: '10.0.0.5', port: 2375 });
  assert.deepEqual(parseDockerUrl('tcp://[::1]:2375'), { host: '::1', port: 2375 });
  assert.equal(parseDockerUrl('ssh://host'), undefined);
  assert.equal(parseDockerUrl('tcp://host'), undefined);
});
