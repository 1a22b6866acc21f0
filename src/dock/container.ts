// What a container is in DNS, as skydock named it: the image's repository name under
// {environment}.{domain}, one SRV record whose target is the container's short id, its
// address on the network. Pure: the Docker API answer in, a registration (or why none) out.
import { constants } from 'node:os';
import { isLabel } from '../dns/names.js';
import type { ContainerDetails } from './docker.js';

export interface DockSettings {
  /** `{environment}.{domain}`: where the names go, e.g. dev.kw. */
  zoneSuffix: string;
  /** The network whose address is registered; by default the container's first. */
  network?: string;
  /** Register this address and the published host port instead (clients on other hosts). */
  publishAddress?: string;
}

export interface Registration {
  /** The service name, e.g. grounduser.dev.kw. */
  name: string;
  /** The container's first 12 hex digits. */
  shortId: string;
  /** `<shortId>.<name>`. */
  target: string;
  address: string;
  port: number;
  priority: number;
  weight: number;
}

export type Outcome =
  | { kind: 'register'; registration: Registration }
  /** Not registered now (stopped, paused, not healthy): withdrawn if it was. */
  | { kind: 'absent'; why: string }
  /** Never registered, whatever its state: said once. */
  | { kind: 'skipped'; why: string };

/** The repository name of an image reference, without registry, namespace, tag or digest:
 * `registry:5000/fabware/grounduser:1.2` -> `grounduser`. */
export function repositoryName(image: string): string {
  const withoutDigest = image.split('@')[0] as string;
  const last = withoutDigest.split('/').at(-1) as string;
  return last.split(':')[0] as string;
}

/** A DNS label made of a name: lower case, other characters as hyphens. */
export function asLabel(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
}

function u16Label(labels: Record<string, string>, key: string, fallback: number): number | string {
  const text = labels[key];
  if (text === undefined) return fallback;
  const value = /^\d{1,5}$/.test(text) ? Number(text) : -1;
  return value >= 0 && value <= 65535 ? value : `label ${key}="${text}" is not 0-65535`;
}

/** The container's exposed TCP ports, lowest first. */
function exposedTcpPorts(details: ContainerDetails): number[] {
  return Object.keys(details.Config.ExposedPorts ?? {})
    .map((key) => /^(\d+)\/tcp$/.exec(key)?.[1])
    .filter((port): port is string => port !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** The number of a signal given as Docker gives it: "15", "SIGTERM" or "TERM". */
function signalNumber(signal: string): number | undefined {
  if (/^\d+$/.test(signal)) return Number(signal);
  const name = signal.toUpperCase();
  return constants.signals[(name.startsWith('SIG') ? name : `SIG${name}`) as NodeJS.Signals];
}

/** Signals that end a container: the ones processes stop on, and the container's own stop
 * signal. Others (SIGHUP to reload nginx, SIGUSR1) do not take it out of DNS. */
const ENDING = ['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGQUIT'].map((name) => signalNumber(name));

/** Whether `signal` (of a kill event) stops the container: `docker stop` sends its stop
 * signal, `docker kill` SIGKILL. */
export function stopsContainer(signal: string, details: ContainerDetails): boolean {
  const number = signalNumber(signal);
  return (
    number !== undefined &&
    (ENDING.includes(number) || number === signalNumber(details.Config.StopSignal ?? 'SIGTERM'))
  );
}

/** What `details` amounts to in DNS under `settings`. A running container sent a signal
 * that stops it (`signals`: those of its kill events since it started) is withdrawn: it is
 * on its way out, and clients should leave it during its grace period. */
export function outcomeOf(
  details: ContainerDetails,
  settings: DockSettings,
  signals: Iterable<string> = [],
): Outcome {
  const labels = details.Config.Labels ?? {};
  if (labels['svcdisc.ignore'] === 'true') return { kind: 'skipped', why: 'label svcdisc.ignore' };
  const service = asLabel(labels['svcdisc.name'] ?? repositoryName(details.Config.Image));
  if (!isLabel(service))
    return { kind: 'skipped', why: `no DNS name can be made of "${details.Config.Image}"` };
  const priority = u16Label(labels, 'svcdisc.priority', 10);
  const weight = u16Label(labels, 'svcdisc.weight', 100);
  const labelPort = u16Label(labels, 'svcdisc.port', 0);
  for (const value of [priority, weight, labelPort])
    if (typeof value === 'string') return { kind: 'skipped', why: value };
  const port = (labelPort as number) || exposedTcpPorts(details)[0];
  if (!port) return { kind: 'skipped', why: 'no exposed TCP port and no label svcdisc.port' };

  const { State: state } = details;
  if (!state.Running) return { kind: 'absent', why: 'not running' };
  if (state.Paused) return { kind: 'absent', why: 'paused' };
  for (const signal of signals)
    if (stopsContainer(signal, details)) return { kind: 'absent', why: 'stopping' };
  const health = state.Health?.Status;
  if (health !== undefined && health !== 'healthy') return { kind: 'absent', why: health };

  let address: string | undefined;
  let registeredPort = port;
  if (settings.publishAddress) {
    const published = details.NetworkSettings.Ports?.[`${port}/tcp`]?.[0]?.HostPort;
    if (!published) return { kind: 'absent', why: `port ${port} is not published` };
    address = settings.publishAddress;
    registeredPort = Number(published);
  } else {
    const networks = details.NetworkSettings.Networks ?? {};
    const network = settings.network ? networks[settings.network] : Object.values(networks)[0];
    address = network?.IPAddress || network?.GlobalIPv6Address || undefined;
    if (!address)
      return { kind: 'absent', why: `no address on ${settings.network ?? 'any network'}` };
  }
  const name = `${service}.${settings.zoneSuffix}`;
  const shortId = details.Id.slice(0, 12);
  return {
    kind: 'register',
    registration: {
      name,
      shortId,
      target: `${shortId}.${name}`,
      address,
      port: registeredPort,
      priority: priority as number,
      weight: weight as number,
    },
  };
}
