/** Arguments for a throw-away redis-server on a loopback port: nothing on disk, presence is ephemeral. */
export function throwawayRedisArgs(host: string, port: number): string[] {
  return ['--bind', host, '--port', String(port), '--save', '', '--appendonly', 'no'];
}
