/** Connection budgets of one node: in total and per client address (0 means unlimited). */
export interface ConnectionLimitSettings {
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
}

export type Admission = 'ok' | 'node_full' | 'ip_full';

export class ConnectionLimits {
  private total = 0;
  private readonly perIp = new Map<string, number>();

  constructor(private readonly settings: ConnectionLimitSettings) {}

  /** Open connections counted here. */
  get size(): number {
    return this.total;
  }

  /** Addresses with at least one open connection (emptied as they close). */
  get addresses(): number {
    return this.perIp.size;
  }

  /** Checks whether one more connection from `ip` fits, without taking it. */
  admit(ip: string): Admission {
    const { maxConnections, maxConnectionsPerIp } = this.settings;
    if (maxConnections > 0 && this.total >= maxConnections) return 'node_full';
    if (maxConnectionsPerIp > 0 && (this.perIp.get(ip) ?? 0) >= maxConnectionsPerIp) return 'ip_full';
    return 'ok';
  }

  opened(ip: string): void {
    this.total++;
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
  }

  closed(ip: string): void {
    this.total--;
    const count = (this.perIp.get(ip) ?? 1) - 1;
    if (count > 0) this.perIp.set(ip, count);
    else this.perIp.delete(ip);
  }
}
