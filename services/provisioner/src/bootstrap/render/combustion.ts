import type { NodeBootstrapPlan } from './plan.js';

export interface CombustionOptions {
  /**
   * Directory the script treats as `/` (tests run it against a scratch tree). Empty, the
   * default, for a real first boot, where Combustion runs the script inside the new root.
   */
  root?: string;
}

/** Ends every heredoc. Payloads are base64, whose alphabet has no `_`, so none can end one early. */
const HEREDOC_END = 'FLOTILLA_PAYLOAD_END';

/**
 * The plan as a MicroOS Combustion script. Nothing from the plan reaches the shell as code:
 * file contents travel base64-encoded in quoted heredocs and are decoded with `base64 -d`, and
 * every path, name and key is single-quoted.
 */
export function renderCombustion(plan: NodeBootstrapPlan, options: CombustionOptions = {}): string {
  const root = options.root ?? '';
  const lines = [
    '#!/bin/bash',
    // Combustion brings the network up only when this marker is present; kubeadm pulls its
    // images later, from the booted system, but an image that lacks packages can install them here.
    '# combustion: network',
    '# Flotilla node bootstrap: writes the node configuration and enables kubeadm-bootstrap.service.',
    'set -euo pipefail',
    'umask 077',
    `root=${shellQuote(root)}`,
    '',
    '# write_file PATH MODE: the file, from base64 on standard input.',
    'write_file() {',
    '  local target="${root}$1"',
    '  mkdir -p -- "$(dirname -- "$target")"',
    '  base64 -d > "$target.flotilla-new"',
    '  chmod "$2" -- "$target.flotilla-new"',
    '  chown 0:0 -- "$target.flotilla-new"',
    '  mv -f -- "$target.flotilla-new" "$target"',
    '}',
    '',
  ];
  for (const file of plan.files) lines.push(...writeFile(file.path, file.mode, file.contents));
  for (const unit of plan.units) {
    if (unit.contents !== undefined) lines.push(...writeFile(`/etc/systemd/system/${unit.name}`, 0o644, unit.contents));
  }
  if (plan.breakGlass && plan.breakGlass.authorizedKeys.length > 0) lines.push(...authorizedKeys(plan.breakGlass.user, plan.breakGlass.authorizedKeys));
  const units = plan.units.map((unit) => shellQuote(unit.name)).join(' ');
  lines.push(`systemctl \${root:+--root="$root"} enable -- ${units}`, '');
  return lines.join('\n');
}

function writeFile(path: string, mode: number, contents: string): string[] {
  return [`write_file ${shellQuote(path)} ${mode.toString(8).padStart(4, '0')} <<'${HEREDOC_END}'`, ...base64Lines(contents), HEREDOC_END, ''];
}

/**
 * The break-glass user's keys. The script runs inside the new system, so `id` and `useradd` see
 * its users; the user is created when the image does not have it.
 */
function authorizedKeys(user: string, keys: string[]): string[] {
  const quoted = shellQuote(user);
  const sshDir = `${user === 'root' ? '/root' : `/home/${user}`}/.ssh`;
  return [
    `if ! id -u -- ${quoted} >/dev/null 2>&1; then useradd --create-home -- ${quoted}; fi`,
    ...writeFile(`${sshDir}/authorized_keys`, 0o600, keys.map((key) => `${key}\n`).join('')),
    `chmod 0700 -- "\${root}"${shellQuote(sshDir)}`,
    `chown -R -- ${quoted}: "\${root}"${shellQuote(sshDir)}`,
    '',
  ];
}

function base64Lines(contents: string): string[] {
  const encoded = Buffer.from(contents, 'utf8').toString('base64');
  const lines: string[] = [];
  for (let offset = 0; offset < encoded.length; offset += 76) lines.push(encoded.slice(offset, offset + 76));
  return lines;
}

/** One shell word, whatever the value: single quotes, with each `'` closed, escaped, reopened. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
