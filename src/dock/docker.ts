// The Docker Engine API, the little `svcdisc dock` needs of it, with node:http: over the unix
// socket (unix:///var/run/docker.sock) or TCP (tcp://host:2375). No SDK.
import { request } from 'node:http';
import { DockerError } from '../errors.js';

/** Where the daemon is: a unix socket path, or a host and port. */
export type DockerEndpoint = { socketPath: string } | { host: string; port: number };

/** `unix:///path`, `tcp://host:port` (or `http://host:port`); undefined when it is neither. */
export function parseDockerUrl(text: string): DockerEndpoint | undefined {
  const unix = /^unix:\/\/(\/.+)$/.exec(text);
  if (unix) return { socketPath: unix[1] as string };
  const tcp = /^(?:tcp|http):\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})\/?$/.exec(text);
  const port = Number(tcp?.[2]);
  if (!tcp || port < 1 || port > 65535) return undefined;
  return { host: (tcp[1] as string).replace(/^\[|\]$/g, ''), port };
}

/** What `GET /containers/{id}/json` says that dock reads. */
export interface ContainerDetails {
  Id: string;
  Config: {
    Image: string;
    Labels?: Record<string, string> | null;
    ExposedPorts?: Record<string, object> | null;
    /** The signal `docker stop` sends (the image's STOPSIGNAL), by default SIGTERM. */
    StopSignal?: string;
    /** The grace `docker stop` gives before SIGKILL, s (`--stop-timeout`), by default 10. */
    StopTimeout?: number;
  };
  State: { Running: boolean; Paused: boolean; Health?: { Status: string } };
  NetworkSettings: {
    Networks?: Record<string, { IPAddress?: string; GlobalIPv6Address?: string }> | null;
    Ports?: Record<string, { HostIp: string; HostPort: string }[] | null> | null;
  };
}

/** A container event of the stream (`GET /events`). */
export interface ContainerEvent {
  Action: string;
  /** `Attributes.signal` of a kill event: the signal's number, e.g. "15". */
  Actor: { ID: string; Attributes?: Record<string, string> };
}

/** Requests to the daemon time out after this long, ms (not the event stream). */
const REQUEST_TIMEOUT_MS = 10_000;

export class DockerApi {
  constructor(
    readonly endpoint: DockerEndpoint,
    /** How the daemon is named in messages. */
    readonly url: string,
  ) {}

  #request(path: string) {
    return request({
      ...this.endpoint,
      path,
      method: 'GET',
      headers: { host: 'docker' },
      // The stream stays open for as long as dock runs: no pooling, no shared agent.
      agent: false,
    });
  }

  /** GET `path` as JSON; null for 404 (a container that is gone). */
  get<T>(path: string): Promise<T | null> {
    return new Promise((resolve, reject) => {
      const req = this.#request(path);
      req.setTimeout(REQUEST_TIMEOUT_MS, () =>
        req.destroy(new DockerError(`${this.url}: GET ${path}: no answer within 10 s`)),
      );
      req.on('error', (error) =>
        reject(
          error instanceof DockerError
            ? error
            : new DockerError(`${this.url}: GET ${path}: ${error.message}`, error),
        ),
      );
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => {
          if (res.statusCode === 404) return resolve(null);
          if (res.statusCode !== 200)
            return reject(
              new DockerError(`${this.url}: GET ${path}: ${res.statusCode} ${body.trim()}`),
            );
          try {
            resolve(JSON.parse(body) as T);
          } catch (error) {
            reject(new DockerError(`${this.url}: GET ${path}: not JSON`, error));
          }
        });
        res.on('error', reject);
      });
      req.end();
    });
  }

  /** The ids of the running (and paused) containers. */
  async running(): Promise<string[]> {
    const list = await this.get<{ Id: string }[]>('/containers/json');
    return (list ?? []).map((container) => container.Id);
  }

  inspect(id: string): Promise<ContainerDetails | null> {
    return this.get<ContainerDetails>(`/containers/${encodeURIComponent(id)}/json`);
  }

  /** Follows the container events; `onEnd` is called once when the stream ends or fails.
   * Returns a function that closes it (without calling `onEnd`). */
  events(
    onEvent: (event: ContainerEvent) => void,
    onEnd: (error: Error) => void,
    onOpen: () => void,
  ): () => void {
    const filters = encodeURIComponent(JSON.stringify({ type: ['container'] }));
    const req = this.#request(`/events?filters=${filters}`);
    let ended = false;
    const end = (error: Error) => {
      if (ended) return;
      ended = true;
      onEnd(error);
    };
    req.on('error', (error) =>
      end(new DockerError(`${this.url}: events: ${error.message}`, error)),
    );
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        end(new DockerError(`${this.url}: events: ${res.statusCode}`));
        res.resume();
        return;
      }
      onOpen();
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line === '') continue;
          try {
            const event = JSON.parse(line) as ContainerEvent;
            if (event.Actor?.ID) onEvent(event);
          } catch {
            // Not an event: skipped, the stream goes on.
          }
        }
      });
      res.on('end', () => end(new DockerError(`${this.url}: the event stream ended`)));
      res.on('error', (error) => end(new DockerError(`${this.url}: events: ${error.message}`)));
    });
    req.end();
    return () => {
      ended = true;
      req.destroy();
    };
  }
}
