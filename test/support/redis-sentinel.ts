import { startedForThisFile } from './for-this-file.js';
import { startSentinelSetup, type SentinelSetup } from '../../scripts/process/sentinel-setup.js';

export { SENTINEL_MASTER, startSentinelSetup, type SentinelAddress, type SentinelSetup } from '../../scripts/process/sentinel-setup.js';

/** A Sentinel setup for the tests of one file. */
export function sentinelForThisFile(): () => SentinelSetup {
  return startedForThisFile('the Sentinel setup', startSentinelSetup);
}
