// When the keep-alive pools are adopted: http.Agent once the program has loaded `http` or
// `https` (checked on each service connect, cheaply), undici's global Agent once it exists —
// created by the program's first fetch(), or by the undici package when it loads. The first
// fetch of a service name adopts it before its request goes (fetch.ts).
import { AgentFinder, patchAgent } from './agent.js';
import { adoptGlobalDispatcher } from './dispatcher.js';
import { globalDispatcher } from './fetch.js';
import type { Matcher } from './match.js';
import type { Pools } from './pools.js';

/** The keep-alive pools' patches, made when the program has the pools: http.Agent once
 * `http` or `https` is loaded, undici's global Agent once fetch or undici created it. `adopt()`
 * says whether it patched http.Agent just now. */
export function poolAdoption(pools: Pools, matcher: Matcher): { adopt(): boolean; undo(): void } {
  const finder = new AgentFinder();
  const undo: (() => void)[] = [];
  let agentPatched = false;
  let dispatcherSeen: unknown;
  return {
    adopt() {
      let patchedNow = false;
      if (!agentPatched) {
        const proto = finder.find();
        if (proto) {
          agentPatched = patchedNow = true;
          undo.push(patchAgent(proto, pools, matcher));
        }
      }
      const dispatcher = globalDispatcher();
      if (dispatcher !== dispatcherSeen) {
        dispatcherSeen = dispatcher;
        const restore = adoptGlobalDispatcher(pools, matcher);
        if (restore) undo.push(restore);
      }
      return patchedNow;
    },
    undo() {
      for (const restore of undo.splice(0)) restore();
    },
  };
}
