#!/usr/bin/env node
// Installs the Debian packages the test suites use and a fresh machine lacks. Each package is
// named by a file it provides, so a machine that has it already is left alone (and nothing
// needs root there). `apt-get update` runs once, only when something is missing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian package -> a file it installs. */
export const TEST_PACKAGES = {
  // A real SSH server for the user-provisioned hosts tests (started on a loopback port).
  'openssh-server': '/usr/sbin/sshd',
  // `systemctl --root` enables units in the rendered MicroOS first-boot script's test.
  systemd: '/usr/bin/systemctl',
  // Test certificate authorities for the stand-in cloud APIs.
  openssl: '/usr/bin/openssl',
  // The real client against the tunnel's Kubernetes front (get, watch, exec over WebSocket, logs).
  // It must be 1.30 or newer (exec over WebSocket): Debian's own kubectl (kubernetes-client) is
  // older, so the package named kubectl comes from Kubernetes' apt repository.
  kubectl: '/usr/bin/kubectl',
  // The browser the fleet dashboard's end-to-end test drives through playwright-core.
  chromium: '/usr/bin/chromium',
  // Tests that restart, cluster or secure NATS start their own servers on other ports.
  'nats-server': '/usr/sbin/nats-server',
  // Network namespaces: the tunnel's workload cluster that only its agent can reach (as root).
  iproute2: '/usr/sbin/ip',
};

export function ensureSystemPackages(packages = TEST_PACKAGES) {
  const missing = Object.entries(packages)
    .filter(([, file]) => !existsSync(file))
    .map(([name]) => name);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`missing Debian package(s) ${missing.join(', ')}: run "sudo apt-get install -y ${missing.join(' ')}"`);
  }
  console.log(`installing ${missing.join(', ')} from Debian`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', ...missing]]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    ensureSystemPackages();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
