// The command line's shared parts: the usage texts, the argument parser and the demo zone's
// path. A leaf of the CLI: cli.ts and cli/demo.ts both import it.
import { join } from 'node:path';
import { UsageError } from '../errors.js';

/** The zone `serve` and `demo` use by default, shipped with the package. */
export const DEMO_ZONE = join(__dirname, '..', '..', 'fixtures', 'demo.zone');
export const DEFAULT_LISTEN = '127.0.0.1:5300';

export const USAGE: Record<string, string> = {
  main: `Usage: svcdisc <command> [options]

Commands:
  resolve NAME [--port N] [--json]            query NAME as the preload does and print its endpoints
  serve [--zone FILE] [--listen HOST:PORT]    serve a zone file over DNS (UDP and TCP)
  announce NAME --port N                      publish an instance of NAME (RFC 2136 dynamic update)
  withdraw NAME --port N                      remove it
  prune NAME                                  remove registered instances that are gone
  dock [--environment ENV] [--domain DOMAIN]  register every Docker container by its image name
  demo                                        the whole thing on this machine, in about 15 s

svcdisc <command> --help (or -h) for its options; svcdisc --version (or -v) for the version.
Settings come from the SVCDISC_* environment.`,
  resolve: `Usage: svcdisc resolve NAME [--port N] [--json]

Queries the SRV records of NAME (SVCDISC_SRV_NAME applied) at SVCDISC_NAMESERVERS (or
resolv.conf's), as the preload does, and prints every endpoint and the one a connection made
now would choose. Exit status: 0 found, 2 no such service (NXDOMAIN, NODATA), 1 other failure.

  --port N the port a program would connect to, for SVCDISC_SRV_NAME's {port} and per-port entries
  --json   print {"name","query","records":[{"target","port","priority","weight","ttl","addresses"}],"chosen":{"target","address","port"}}`,
  serve: `Usage: svcdisc serve [--zone FILE] [--listen HOST:PORT] [--origin NAME] [--log-queries]
                     [--update-key KEY | --allow-unsigned-updates]

An authoritative DNS server for one RFC 1035 master file, over UDP and TCP, for development
and tests (production: BIND, Knot, Consul, CoreDNS). Reloads the file on SIGHUP and when it
changes; a file that does not load leaves the previous zone serving.

  --zone FILE         the master file (default: the demo zone, ${DEMO_ZONE})
  --listen HOST:PORT  where to listen (default: ${DEFAULT_LISTEN}; port 0: any free port)
  --origin NAME       the zone's origin when the file has no $ORIGIN (default: FILE's name without .zone)
  --log-queries       print one line per query
  --update-key KEY    accept RFC 2136 updates signed with this TSIG key (name:algorithm:base64secret);
                      they live in memory until the file reloads
  --allow-unsigned-updates  accept unsigned updates too (development only)`,
  announce: `Usage: svcdisc announce NAME --port N [--target NAME] [--address IP[,IP]] [--ttl S | --keep]

Publishes one instance of service NAME by RFC 2136 dynamic update at the zone's primary
(SVCDISC_UPDATE_SERVER, else the first nameserver), signed with SVCDISC_TSIG_KEY or
SVCDISC_TSIG_KEYFILE when set: an SRV record (SVCDISC_ANNOUNCE_PRIORITY, _WEIGHT, _TTL) for
--target (default <host>-<port>.NAME), the target's address records (--address; default
SVCDISC_ANNOUNCE_ADDRESS, else this host's first non-internal address) and its lease, after
which "svcdisc prune" removes it.

  --ttl S   the lease, in seconds (default 3600): run announce again within it; 0: no lease,
            the instance stays until withdrawn and prune never touches it
  --keep    stay in the foreground, refreshing the lease (3 x SVCDISC_ANNOUNCE_TTL, or --ttl S)
            every third of it, until SIGTERM or SIGINT; then withdraw it and exit`,
  withdraw: `Usage: svcdisc withdraw NAME --port N [--target NAME]

Removes the instance that "svcdisc announce NAME --port N" published: the SRV records of NAME
that point at its target and port, and the target's addresses. Nothing else of the service.`,
  prune: `Usage: svcdisc prune NAME

Removes the instances of NAME that svcdisc registered (those with a lease record) whose lease
has expired or whose port refuses connections, at the zone's primary. Instances published any
other way are never touched. Idempotent: run it from cron or beside every service.`,
  dock: `Usage: svcdisc dock [--environment ENV] [--domain DOMAIN] [--docker URL] [--network NAME]
                    [--ttl S] [--publish-address ADDR] [--withdraw-on-exit]

Registers every running container of a Docker host, as skydock did: one SRV record per
container for {image name}.{environment}.{domain} (grounduser.dev.kw), target
<first 12 of the id>.{name}, the container's lowest exposed TCP port and its address, by
RFC 2136 updates to SVCDISC_UPDATE_SERVER (else the first nameserver), signed with
SVCDISC_TSIG_KEY/_KEYFILE. Follows the daemon's events: withdrawn on stop, die, kill, pause
and destroy; registered again on start and unpause; with a health check, only while healthy.
Each record has a lease naming the Docker host, refreshed every --ttl; when every dock of the
host is gone, the leases end and "svcdisc prune NAME" removes the records; a dock that starts
removes its host's records of containers that stopped meanwhile. Labels:
svcdisc.name, svcdisc.port, svcdisc.priority (10), svcdisc.weight (100), svcdisc.ignore=true.
One line per registration (+) and withdrawal (-). Exit status 2 for a bad option.

  --environment ENV        the name's second label (default dev)
  --domain DOMAIN          under which (default: the first of SVCDISC_DOMAINS)
  --docker URL             the daemon: unix:///PATH or tcp://HOST:PORT (default DOCKER_HOST,
                           else unix:///var/run/docker.sock)
  --network NAME           register the containers' address on this network (default: each
                           container's first)
  --ttl S                  the records' TTL and the lease refresh period (default 30); each
                           lease lasts 3 periods
  --publish-address ADDR   register ADDR and the published host port (clients on other hosts)
  --withdraw-on-exit       on SIGTERM/SIGINT withdraw what this dock registered (default: leave
                           the records to their leases)`,
  demo: `Usage: svcdisc demo [--seconds N]

Serves the demo zone, starts the HTTP backends it names, and runs an unmodified client under
the preload that asks http://api.prod.kw/ again and again (the backends register api.prod.kw
themselves); a screen shows where the requests
went against the SRV weights. Halfway through one backend stops: requests fail over, none fails.

  --seconds N   how long the client runs (default 14)`,
};

export interface Parsed {
  positional: string[];
  flags: Map<string, string | true>;
  /** The value given to a `--name value` option; undefined when it was not given. */
  value(name: string): string | undefined;
}

/** Parses `args` against the flags a command knows; a flag with a value is `--name value`. */
export function parseArgs(
  command: string,
  args: string[],
  known: Record<string, 'flag' | 'value'>,
): Parsed {
  const flags = new Map<string, string | true>();
  const parsed: Parsed = {
    positional: [],
    flags,
    value(name) {
      const value = flags.get(name);
      return typeof value === 'string' ? value : undefined;
    },
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '-h' && known.help) {
      parsed.flags.set('help', true);
      continue;
    }
    // A single dash: no short options besides -h (a lone "-" or a number is an argument).
    if (/^-[^-\d]/.test(arg)) throw new UsageError(`svcdisc ${command}: unknown option ${arg}`);
    if (!arg.startsWith('--')) {
      parsed.positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const kind = known[name];
    if (!kind) throw new UsageError(`svcdisc ${command}: unknown option --${name}`);
    if (kind === 'flag') {
      if (inline !== undefined)
        throw new UsageError(
          `svcdisc ${command}: --${name} takes no value (not --${name}=${inline})`,
        );
      parsed.flags.set(name, true);
    } else {
      const value = inline ?? args[++i];
      if (value === undefined) throw new UsageError(`svcdisc ${command}: --${name} needs a value`);
      parsed.flags.set(name, value);
    }
  }
  return parsed;
}

/** Prints a command's usage; the exit status is 0. */
export function help(command: string, out: (line: string) => void): number {
  out(USAGE[command] ?? USAGE.main ?? '');
  return 0;
}
