import { lookup } from 'node:dns/promises';
import { privateAddressKind } from './network-policy.js';

/** A DNS answer slower than this counts as a failure (the lookup itself cannot be cancelled). */
export const DNS_TIMEOUT_MS = 2_000;
/** A host's DNS result is reused for this long before status asks again. */
export const CHECK_TTL_MS = 60_000;

export interface Host {
  host: string;
  allowPrivateNetwork: boolean;
  tools: string[];
}

type Lookup = (host: string) => Promise<{ address: string }[]>;

/**
 * Whether the hosts of a capability source can be reached, for its status(): a DNS lookup per host
 * (cheap, cached for CHECK_TTL_MS; an offline machine or a typo'd host fails it), the network
 * policy applied to the addresses, and the last network failure of a real call (a closed port),
 * which stays until a later call to that host gets an HTTP answer.
 */
export class Reachability {
  private readonly dnsFailure = new Map<string, string>();
  private readonly callFailure = new Map<string, string>();
  private checkedAt = Number.NEGATIVE_INFINITY;
  private running: Promise<void> | undefined;

  constructor(
    readonly hosts: Host[],
    private readonly resolve: Lookup = (host) => lookup(host, { all: true }),
  ) {}

  /** False until the first DNS check has ended. */
  get checked(): boolean {
    return this.checkedAt > Number.NEGATIVE_INFINITY;
  }

  /** Start a DNS check when the last one is older than CHECK_TTL_MS; resolves when the current check ends. */
  refresh(): Promise<void> {
    if (this.running) return this.running;
    if (Date.now() - this.checkedAt < CHECK_TTL_MS) return Promise.resolve();
    this.running = Promise.all(this.hosts.map((h) => this.check(h))).then(() => {
      this.checkedAt = Date.now();
      this.running = undefined;
    });
    return this.running;
  }

  callFailed(host: Host, reason: string): void {
    this.callFailure.set(key(host), reason);
  }

  callReached(host: Host): void {
    this.callFailure.delete(key(host));
  }

  /** The hosts known not to work, with why. */
  failures(): { host: Host; reason: string }[] {
    return this.hosts.flatMap((host) => {
      const reason = this.callFailure.get(key(host)) ?? this.dnsFailure.get(key(host));
      return reason === undefined ? [] : [{ host, reason }];
    });
  }

  private async check(host: Host): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no DNS answer within ${DNS_TIMEOUT_MS} ms`)), DNS_TIMEOUT_MS);
    });
    try {
      const addresses = await Promise.race([this.resolve(host.host), timeout]);
      const bad = host.allowPrivateNetwork
        ? undefined
        : addresses.map((a) => ({ address: a.address, kind: privateAddressKind(a.address) })).find((a) => a.kind !== undefined);
      if (bad)
        this.dnsFailure.set(
          key(host),
          `${host.host === bad.address ? '' : `resolves to ${bad.address}, `}${bad.kind}; its file must set allow_private_network: true to call it`,
        );
      else this.dnsFailure.delete(key(host));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      this.dnsFailure.set(key(host), `cannot resolve the host name${code ? ` (${code})` : `: ${(error as Error).message}`}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

function key(host: Host): string {
  return `${host.host}\u0000${host.allowPrivateNetwork}`;
}
