// Register mode of `npm start`: clusters the global side cannot reach run a tunnel agent that
// enrolls at the entry point and dials the tunnel broker's agents' port on this machine. This
// module decides the broker's and the importer's variables for that and the lines that tell
// people where agents dial and how to register a cluster. Pure functions of their input.

/** Interfaces of container networks, VPN tunnels and the like: this machine's own address is elsewhere when it has one. */
const VIRTUAL_INTERFACE = /^(docker|br-|veth|virbr|vnet|cni|flannel|cali|cilium|vxlan|kube|lxc|lxd|podman|weave|tun|tap|zt)/;

/**
 * An address of this machine that agents can reach, from os.networkInterfaces(): the first
 * external IPv4 address of an ordinary interface, else of any interface, else 127.0.0.1 (agents
 * on this machine only). IPv4 because the broker's agents' listener is bound to 0.0.0.0.
 */
export function machineAddress(interfaces) {
  const candidates = Object.entries(interfaces ?? {}).flatMap(([name, addresses]) =>
    (addresses ?? []).filter((a) => (a.family === 'IPv4' || a.family === 4) && !a.internal).map((a) => ({ name, address: a.address })),
  );
  const ordinary = candidates.find((c) => !VIRTUAL_INTERFACE.test(c.name));
  return (ordinary ?? candidates[0])?.address ?? '127.0.0.1';
}

/** `host` as it goes before `:port`: IPv6 in brackets. */
export function hostForPort(host) {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * What register mode needs, given the settings (resolveSettings), the agents' port actually used,
 * this machine's address and the entry point's TLS (undefined when FLOTILLA_TLS=off; `caFile` for
 * the development CA; `covers(host)` tells whether the served certificate names a host).
 * Returns:
 * - `publicHost`: the host agents use for this machine (it must be in the entry point's certificate);
 * - `agentAddress`: `host:port` agents dial; `registrationUrl`: where they enroll (undefined without HTTPS);
 * - `env`: service name -> variables for that service (tunnel-broker, importer);
 * - `importerWired`: whether the importer gets the registration and broker URLs, else `why` not.
 */
export function tunnelWiring({ settings, agentPort, machineHost, tls, brokerPort }) {
  const names = new Set(settings.services.map((s) => s.name));
  const publicHost = settings.tunnel.agentAddress?.host ?? machineHost;
  const agentAddress = settings.tunnel.agentAddress?.text ?? `${hostForPort(publicHost)}:${agentPort}`;
  const env = {};
  if (names.has('tunnel-broker')) {
    env['tunnel-broker'] = {
      TUNNEL_AGENT_PORT: String(agentPort),
      TUNNEL_AGENT_ADDRESS: agentAddress,
      // One replica, on this machine.
      TUNNEL_REPLICA_URL: `http://127.0.0.1:${brokerPort}`,
    };
  }
  const gatewayPort = settings.gateway.port;
  const registrationUrl = tls ? (settings.tunnel.registrationUrl ?? `https://${hostForPort(publicHost)}:${gatewayPort}`) : undefined;
  let why;
  if (!names.has('importer')) why = 'the importer is not running here';
  else if (!names.has('tunnel-broker')) why = 'the tunnel broker is not running here';
  else if (!tls) why = 'it needs the entry point on HTTPS (FLOTILLA_TLS=off now)';
  if (why === undefined) {
    // The importer reaches the broker through the entry point on this machine, by a name the certificate carries.
    const local = ['127.0.0.1', 'localhost'].find((host) => tls.covers?.(host) ?? true);
    env.importer = {
      REGISTRATION_TUNNEL_URL: registrationUrl,
      TUNNEL_BROKER_URL: local ? `https://${local}:${gatewayPort}` : registrationUrl,
      // The manifest hands agents the same CA, so an agent in a pod trusts the development CA too.
      ...(tls.caFile ? { TUNNEL_BROKER_CA_FILE: tls.caFile, REGISTRATION_TUNNEL_CA_FILE: tls.caFile } : {}),
    };
  }
  return { publicHost, agentAddress, registrationUrl, env, importerWired: why === undefined, why };
}

/**
 * The summary's lines about register mode. `wiring` from tunnelWiring; `entryUrl` the address
 * operators use; `caFile` the CA to trust (relative path), if any; `agentPort` the listener's port.
 */
export function tunnelSummary({ wiring, entryUrl, caFile, agentPort }) {
  if (!wiring.env['tunnel-broker']) return [];
  const lines = [`agents dial ${wiring.agentAddress} (port ${agentPort} here; mutual TLS under the broker's own CA, never through the entry point)`];
  if (!wiring.importerWired) return [...lines, `registering clusters: not wired, ${wiring.why}`];
  const cacert = caFile ? ` --cacert ${caFile}` : '';
  lines.push(`they enroll at ${wiring.registrationUrl}${caFile ? ` (the agent must trust ${caFile}: FLOTILLA_TUNNEL_CA_FILE)` : ''}`);
  lines.push(`register a cluster: curl${cacert} -H "Authorization: Bearer $FLOTILLA_TOKEN" -H 'content-type: application/json' -d '{"clusterName":"edge"}' ${entryUrl}/api/v1/registrations`);
  lines.push('then apply the manifest of the answer on that cluster: ... | jq -r .manifest | kubectl apply -f -');
  return lines;
}
