import type { ChatSettings } from '../../src/chat/chat-service.js';

/** ChatService settings for tests: no rate limits, no resume window, generous timeouts; `overrides` for what a test is about. */
export function chatSettings(overrides: Partial<ChatSettings> = {}): ChatSettings {
  return {
    idleTimeoutMs: 60_000,
    registrationTimeoutMs: 30_000,
    maxContentLength: 100,
    rateLimitPerSecond: 0,
    rateLimitBurst: 1,
    addressRateLimitPerSecond: 0,
    addressRateLimitBurst: 1,
    resumeWindowMs: 0,
    ...overrides,
  };
}
