// SVCDISC_SRV_NAME: the template of the SRV query name, or one per port, and the cache key it
// gives a name. Checked with the settings (../config.ts) and used by the resolver and the
// preload's service side, which carries its own copy of this leaf.
import { isDigits, normalizeName } from './names.js';

/** SVCDISC_SRV_NAME parsed: a template per port, and the default (the last entry). */
export interface SrvTemplates {
  byPort: ReadonlyMap<number, string>;
  fallback: string;
  /** Whether the query name depends on the program's port ({port}, or a per-port entry). */
  perPort: boolean;
}

/** An entry's `port=` (1 to 5 digits), if it has one, and its template. */
export function portAndTemplate(entry: string): [number | undefined, string] {
  const equals = entry.indexOf('=');
  return equals >= 1 && equals <= 5 && isDigits(entry.slice(0, equals))
    ? [Number(entry.slice(0, equals)), entry.slice(equals + 1)]
    : [undefined, entry];
}

/** Parses `template` or `port=template,…,template`; undefined when it is not valid. */
export function parseSrvTemplates(text: string): SrvTemplates | undefined {
  const entries = text.split(',').map((entry) => entry.trim());
  const byPort = new Map<number, string>();
  let fallback: string | undefined;
  for (const [index, entry] of entries.entries()) {
    const [port, template] = portAndTemplate(entry);
    const probe = normalizeName(
      template.replaceAll('{host}', 'host.example').replaceAll('{port}', '80'),
    );
    if (!template.includes('{host}') || probe === undefined) return undefined;
    const last = index === entries.length - 1;
    if (port === undefined) {
      if (!last) return undefined; // the default comes last
      fallback = template;
    } else {
      if (last || port < 1 || port > 65535 || byPort.has(port)) return undefined;
      byPort.set(port, template);
    }
  }
  if (fallback === undefined) return undefined;
  const perPort =
    byPort.size > 0 || [fallback, ...byPort.values()].some((t) => t.includes('{port}'));
  return { byPort, fallback, perPort };
}

/** The cache key of `name` reached at `port`: the name itself where the SRV query does not
 * depend on the port, else `name:port`. */
export function serviceKey(
  templates: SrvTemplates,
  name: string,
  port: number | undefined,
): string {
  if (!templates.perPort || port === undefined || !(port > 0)) return name;
  const own = templates.byPort.has(port);
  return own || templates.fallback.includes('{port}') ? `${name}:${port}` : name;
}
