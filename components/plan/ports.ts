/** Default WireGuard port of a plane: 51820 + N for a plane named wgN (rule plane-ports requires `port` otherwise). */
export function defaultPlanePort(name: string): number | undefined {
  const m = /^wg(\d{1,3})$/.exec(name);
  return m ? 51820 + Number(m[1]) : undefined;
}
