/**
 * Spreads a steady rate over ticks: at each tick, how many messages are due
 * so that the count sent matches rate × elapsed time. A late tick catches
 * up, so the average rate holds even when timers are coarse.
 */
export class RatePacer {
  private issued = 0;

  constructor(private readonly ratePerSecond: number) {}

  /** Messages to send now, `elapsedMs` after the start. */
  due(elapsedMs: number): number {
    const owed = Math.floor((this.ratePerSecond * elapsedMs) / 1000) - this.issued;
    if (owed <= 0) return 0;
    this.issued += owed;
    return owed;
  }
}
