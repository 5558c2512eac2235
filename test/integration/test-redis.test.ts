import { expect, inject, it } from 'vitest';
import { describeNeeding, TOOLS } from '../support/tools.js';

describeNeeding([TOOLS.docker], "the tests' Redis", () => {
  it('is a container (testcontainers) wherever a Docker engine holds the image', () => {
    expect(inject('redisKind')).toBe('container');
  });
});
