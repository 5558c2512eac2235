import { afterAll, beforeAll } from 'vitest';
import { startSentinelSetup, type SentinelSetup } from '../../scripts/process/sentinel-setup.js';

export { SENTINEL_MASTER, startSentinelSetup, type SentinelAddress, type SentinelSetup } from '../../scripts/process/sentinel-setup.js';

/**
 * A Sentinel setup for the tests of one file: started before them, stopped
 * after. The getter is for use inside tests and hooks.
 */
export function sentinelForThisFile(): () => SentinelSetup {
  let setup: SentinelSetup | undefined;
  beforeAll(async () => {
    setup = await startSentinelSetup();
  }, 60_000);
  afterAll(async () => {
    await setup?.stop();
  });
  return () => {
    if (!setup) throw new Error('the Sentinel setup has not started');
    return setup;
  };
}
