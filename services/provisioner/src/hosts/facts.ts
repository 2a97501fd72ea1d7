/**
 * What preflight needs to know about a host, gathered by one script in one SSH session. Every
 * probe reads under `$FLOTILLA_PREFLIGHT_ROOT` (empty, so `/`, on real hosts): only tests set it,
 * to point the probes at a fake /proc and /etc and exercise both outcomes of every check.
 */
export const FACTS_SCRIPT = String.raw`
R="$FLOTILLA_PREFLIGHT_ROOT"
echo "hostname=$(cat "$R/proc/sys/kernel/hostname" 2>/dev/null)"
if [ -n "$R" ] && [ -r "$R/proc/cpuinfo" ]; then
  echo "cpus=$(grep -c '^processor' "$R/proc/cpuinfo")"
else
  echo "cpus=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)"
fi
echo "memory_kb=$(awk '/^MemTotal:/ { print $2 }' "$R/proc/meminfo" 2>/dev/null)"
echo "swap_kb=$(awk 'NR > 1 { total += $3 } END { print total + 0 }' "$R/proc/swaps" 2>/dev/null)"
echo "ip_forward=$(cat "$R/proc/sys/net/ipv4/ip_forward" 2>/dev/null)"
for release in "$R/etc/os-release" "$R/usr/lib/os-release"; do
  if [ -r "$release" ]; then
    (. "$release"; echo "os_id=$ID"; echo "os_version=$VERSION_ID")
    break
  fi
done
for socket in /run/containerd/containerd.sock /var/run/crio/crio.sock; do
  if [ -S "$R$socket" ]; then echo "runtime_socket=$socket"; fi
done
echo "listening=$(cat "$R/proc/net/tcp" "$R/proc/net/tcp6" 2>/dev/null | awk '
  function hex(s,   i, n) { n = 0; for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789ABCDEF", toupper(substr(s, i, 1))) - 1; return n }
  $4 == "0A" { split($2, local, ":"); ports[hex(local[2])] = 1 }
  END { sep = ""; for (p in ports) { printf "%s%d", sep, p; sep = "," } }')"
`;

export interface HostFacts {
  hostname: string;
  cpus: number | null;
  memoryMb: number | null;
  swapMb: number | null;
  /** The value of net.ipv4.ip_forward as read, or null when unreadable. */
  ipForward: string | null;
  osId: string | null;
  osVersion: string | null;
  /** Container runtime sockets found (containerd, CRI-O). */
  runtimeSockets: string[];
  /** TCP ports something listens on. */
  listeningPorts: number[];
}

function integerOrNull(value: string | undefined): number | null {
  if (value === undefined || !/^\d+$/.test(value.trim())) return null;
  return Number(value.trim());
}

/** Reads the script's `key=value` lines; anything missing or unreadable becomes null or empty. */
export function parseFacts(output: string): HostFacts {
  const values = new Map<string, string[]>();
  for (const line of output.split('\n')) {
    const separator = line.indexOf('=');
    if (separator <= 0) continue;
    const key = line.slice(0, separator).trim();
    values.set(key, [...(values.get(key) ?? []), line.slice(separator + 1).trim()]);
  }
  const one = (key: string): string | undefined => values.get(key)?.[0];
  const text = (key: string): string | null => (one(key) ? one(key)! : null);
  const memoryKb = integerOrNull(one('memory_kb'));
  const swapKb = integerOrNull(one('swap_kb'));
  return {
    hostname: one('hostname') ?? '',
    cpus: integerOrNull(one('cpus')),
    memoryMb: memoryKb === null ? null : Math.floor(memoryKb / 1024),
    swapMb: swapKb === null ? null : Math.floor(swapKb / 1024),
    ipForward: text('ip_forward'),
    osId: text('os_id')?.toLowerCase() ?? null,
    osVersion: text('os_version'),
    runtimeSockets: (values.get('runtime_socket') ?? []).filter((socket) => socket.length > 0),
    listeningPorts: (one('listening') ?? '')
      .split(',')
      .map((port) => integerOrNull(port))
      .filter((port): port is number => port !== null)
      .sort((a, b) => a - b),
  };
}
