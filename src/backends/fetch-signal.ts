/**
 * The SDK's HTTP client transport hands every fetch the same transport-lifetime AbortSignal, and undici
 * hangs one abort listener on it per request, removed only when that request is garbage-collected. Under
 * load the signal carries hundreds of listeners, and every fetch scans them all (undici counts them against
 * its MaxListeners cap, EventTarget looks for a duplicate): a cost per call that grows with the load.
 *
 * Here each fetch gets a signal of its own, aborted when the caller's is; one listener on the caller's
 * signal reaches every request still held. A request's controller is held weakly here and strongly by its
 * own signal, which undici keeps while the request or its body is in flight; once undici lets go, it is
 * collected and dropped from the set.
 */
type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

const CONTROLLER = Symbol('controller');

/** `fetchFn` with every request's signal replaced by one that follows it. */
export function perRequestSignals(fetchFn: Fetch = fetch): Fetch {
  const held = new WeakMap<AbortSignal, Set<WeakRef<AbortController>>>();
  const collected = new FinalizationRegistry<{ set: Set<WeakRef<AbortController>>; ref: WeakRef<AbortController> }>(({ set, ref }) =>
    set.delete(ref),
  );
  return (input, init) => {
    const outer = init?.signal;
    if (!outer || outer.aborted) return fetchFn(input, init);
    let set = held.get(outer);
    if (!set) {
      const requests = new Set<WeakRef<AbortController>>();
      outer.addEventListener(
        'abort',
        () => {
          for (const ref of requests) ref.deref()?.abort(outer.reason);
          requests.clear();
        },
        { once: true },
      );
      held.set(outer, requests);
      set = requests;
    }
    const controller = new AbortController();
    (controller.signal as AbortSignal & { [CONTROLLER]?: AbortController })[CONTROLLER] = controller;
    const ref = new WeakRef(controller);
    set.add(ref);
    collected.register(controller, { set, ref });
    return fetchFn(input, { ...init, signal: controller.signal });
  };
}
