import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@flotilla/messaging/testing';

/** What a fake host's probes show (its /proc and /etc under the preflight root). */
export interface FakeFacts {
  hostname: string;
  cpus: number;
  memoryMb: number;
  swapMb: number;
  ipForward: string;
  osId: string;
  osVersion: string;
  runtimeSockets: string[];
  listeningPorts: number[];
}

export function healthyFacts(hostname: string, overrides: Partial<FakeFacts> = {}): FakeFacts {
  return {
    hostname,
    cpus: 2,
    memoryMb: 4096,
    swapMb: 0,
    ipForward: '1',
    osId: 'ubuntu',
    osVersion: '24.04',
    runtimeSockets: ['/run/containerd/containerd.sock'],
    listeningPorts: [],
    ...overrides,
  };
}

export interface TestSshdOptions {
  /** A loopback address of its own (127.0.0.x), so each test host has its own pinned host key. */
  address?: string;
  /** Fake probe points for preflight; 'real' gathers this machine's own facts. */
  facts?: FakeFacts | 'real';
  /** What the stand-in kubelet reports before any upgrade (the version of the preinstalled kubeadm, kubelet and kubectl). */
  kubeletVersion?: string;
  /**
   * The host's packages before Flotilla comes, by name and version: kubeadm, the kubelet and
   * kubectl at `kubeletVersion` and containerd unless given (`{}`: a bare host).
   */
  packages?: Record<string, string>;
  /** Another test host whose host key this one presents: one machine reached under two addresses. */
  hostKeyOf?: TestSshd;
  /** A fixed port (to bring a host back at the same place); a free one otherwise. */
  port?: number;
  /**
   * A file holding how many seconds the stand-ins' clock is ahead of real time (a test clock's,
   * see `HostsClock`), so tokens and uploaded certificates expire as the test moves time.
   */
  clockFile?: string;
}

/**
 * Where the stand-ins find each other's API server: `<address>` links to the state directory of
 * the test host at that address, where `kubeadm init` keeps the cluster's tokens and uploaded
 * certificates. One per test process.
 */
const API_SERVERS = mkdtempSync(join(tmpdir(), 'flotilla-apiservers-'));
process.once('exit', () => rmSync(API_SERVERS, { recursive: true, force: true }));

/** One call of a stand-in command, as it recorded itself. */
/**
 * An API server at `address` that the stand-in kubeadm can join without a test host behind it
 * (a hosted control plane's): `addToken` makes a bootstrap token known there until `expiresAt`.
 */
export function standInApiServerAt(address: string): { addToken(token: string, expiresAt: Date): void; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-hosted-apiserver-'));
  const api = join(dir, 'api');
  mkdirSync(api);
  writeFileSync(join(api, 'tokens'), '');
  writeFileSync(join(dir, 'control-plane'), '');
  writeFileSync(join(dir, 'cluster'), `${api}\n`);
  rmSync(join(API_SERVERS, address), { force: true });
  symlinkSync(dir, join(API_SERVERS, address));
  return {
    addToken: (token, expiresAt) => appendFileSync(join(api, 'tokens'), `${token} ${Math.floor(expiresAt.getTime() / 1000)}\n`),
    dispose: () => {
      rmSync(join(API_SERVERS, address), { force: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Invocation {
  tool: string;
  argv: string[];
  stdin: string;
}

/**
 * Stand-ins for what cannot run here (kubeadm, kubectl, kubelet, systemctl, the package managers
 * and their databases, curl and gpg for repository keys, modprobe, sysctl). Each records its argv
 * and stdin in the host's log and answers like the real tool, keeping state in files under
 * `$STATE`: `fail-<tool>-<subcommand>` makes that call fail, `packages/` is the package database
 * (the kubelet reports its package's version), `node-ready` is the Ready status kubectl shows of
 * the host's node, `reboots` counts `systemctl reboot`. kubeadm keeps the cluster's join material
 * and control-plane version (see `KUBEADM`), kubectl its cordoned nodes (see `KUBECTL`).
 */
function standInScript(tool: string, log: string, state: string, clockFile: string, address: string): string {
  return `#!/bin/sh
STATE='${state}'
APISERVERS='${API_SERVERS}'
CLOCK='${clockFile}'
TOOL='${tool}'
ADDRESS='${address}'
stdin=""
if [ ! -t 0 ]; then stdin=$(base64 -w0); fi
# One record per call, whole: the host's tools run concurrently (health checks beside a drain), and the record is several writes.
{ flock 9; printf '%s' '${tool}'; for arg in "$@"; do printf '\\t%s' "$(printf '%s' "$arg" | base64 -w0)"; done; printf '\\t<%s\\n' "$stdin"; } 9>> '${log}' >&9
if [ -f "$STATE/fail-${tool}-$1" ]; then echo "error execution phase: ${tool} $1 failed on purpose" >&2; exit 1; fi
${PACKAGE_STATE}
${standInBody(tool)}
`;
}

/**
 * The host's package database (`$STATE/packages/<name>`: its version; `$STATE/held/<name>`:
 * held by apt-mark), shared by the package managers and the tools they install: kubeadm,
 * kubectl and the kubelet answer "not found" until their package is installed. `put` installs
 * or moves a package; moving the kubelet of a node that was not drained fails, as a kubelet
 * restarted under running pods would be noticed.
 */
const PACKAGE_STATE = String.raw`PKGS="$STATE/packages"; mkdir -p "$PKGS" "$STATE/held"
installed() { [ -f "$PKGS/$1" ]; }
version_of() { cat "$PKGS/$1"; }
is_k8s() { case "$1" in kubeadm|kubelet|kubectl) return 0 ;; esac; return 1; }
older() { [ "$1" != "$2" ] && [ "$(printf '%s
%s
' "$1" "$2" | sort -V | head -n 1)" = "$1" ]; }
repo_minor() { sed -n 's#.*pkgs\.k8s\.io/core:/stable:/\(v[0-9]*\.[0-9]*\)/.*#\1#p' "$1" 2>/dev/null | head -n 1; }
needs_package() { installed "$1" || { echo "sh: 1: $1: not found" >&2; exit 127; }; }
put() {
  if [ "$1" = kubelet ] && installed kubelet && [ "$(version_of kubelet)" != "$2" ]; then
    api=$(cat "$STATE/cluster" 2>/dev/null); node=$(cat "$STATE/node-name" 2>/dev/null)
    if [ -n "$api" ] && [ -d "$api" ] && [ ! -f "$api/cordoned/$node" ]; then echo "kubelet $2 installed on node $node while it was not drained: its pods were killed" >&2; exit 1; fi
  fi
  echo "$2" > "$PKGS/$1"; echo "Setting up $1 ($2)"
}`;

function standInBody(tool: string): string {
  switch (tool) {
    case 'kubeadm':
      return KUBEADM;
    case 'kubelet':
      return 'needs_package kubelet\necho "Kubernetes v$(version_of kubelet)"';
    case 'kubectl':
      return KUBECTL;
    case 'apt-get':
      return APT_GET;
    case 'dnf':
    case 'zypper':
      return RPM_MANAGER;
    case 'apt-mark':
      return String.raw`verb=$1; shift; for name in "$@"; do case "$verb" in hold) touch "$STATE/held/$name" ;; unhold) rm -f "$STATE/held/$name" ;; esac; echo "$name $verb"; done`;
    case 'dpkg-query':
      return String.raw`format=""; name=""; for arg in "$@"; do case "$arg" in -f=*) format=${'$'}{arg#-f=} ;; -*) ;; *) name=$arg ;; esac; done
installed "$name" || { echo "dpkg-query: no packages found matching $name" >&2; exit 1; }
printf "$(printf '%s' "$format" | sed "s/[$]{Status}/install ok installed/; s/[$]{Version}/$(version_of "$name")-1.1/")"`;
    case 'rpm':
      return String.raw`format=""; name=""; prev=""; for arg in "$@"; do if [ "$prev" = --qf ]; then format=$arg; else case "$arg" in -*) ;; *) name=$arg ;; esac; fi; prev=$arg; done
installed "$name" || { echo "package $name is not installed"; exit 1; }
if [ -n "$format" ]; then printf "$(printf '%s' "$format" | sed "s/%{NAME}/$name/g; s/%{VERSION}/$(version_of "$name")/g; s/%{RELEASE}/150500.1.1/g")"; else echo "$name-$(version_of "$name")-150500.1.1"; fi`;
    case 'systemctl':
      return String.raw`if [ "$1" = reboot ]; then echo $(( $(cat "$STATE/reboots" 2>/dev/null || echo 0) + 1 )) > "$STATE/reboots"; if [ -f "$STATE/reboot-heals" ]; then echo True > "$STATE/node-ready"; fi; fi`;
    case 'curl':
      return String.raw`url=""; for arg in "$@"; do case "$arg" in -*) ;; *) url=$arg ;; esac; done
case "$url" in https://pkgs.k8s.io/*) printf -- '-----BEGIN PGP PUBLIC KEY BLOCK-----\n%s\n-----END PGP PUBLIC KEY BLOCK-----\n' "$url" ;; *) echo "curl: (6) Could not resolve host: $url" >&2; exit 6 ;; esac`;
    case 'gpg':
      return String.raw`out=""; prev=""; for arg in "$@"; do [ "$prev" = -o ] && out=$arg; prev=$arg; done
printf '%s' "$stdin" | base64 -d > "$out"`;
    default:
      return 'exit 0';
  }
}

/**
 * apt-get: \`update\` reads the Kubernetes source list (its signing key must be there) into the
 * index, which offers the Kubernetes packages of that one minor; \`install\` takes
 * \`name=version-*\` (a held package only with --allow-change-held-packages), \`remove\` refuses
 * held packages.
 */
const APT_GET = String.raw`index="$STATE/apt-index"
verb=""; allow=""; specs=""
for arg in "$@"; do case "$arg" in --allow-change-held-packages) allow=1 ;; -*) ;; *) if [ -z "$verb" ]; then verb=$arg; else specs="$specs $arg"; fi ;; esac; done
case "$verb" in
  update)
    list=/etc/apt/sources.list.d/kubernetes.list
    if [ -f "$list" ]; then
      if [ ! -s /etc/apt/keyrings/kubernetes-apt-keyring.gpg ]; then echo "W: GPG error: https://pkgs.k8s.io InRelease: The following signatures couldn't be verified because the public key is not available: NO_PUBKEY" >&2; exit 100; fi
      repo_minor "$list" > "$index"
    else rm -f "$index"; fi
    echo "Reading package lists... Done" ;;
  install)
    minor=$(cat "$index" 2>/dev/null)
    plan=""
    for spec in $specs; do
      name=${'$'}{spec%%=*}; want=""; [ "$name" != "$spec" ] && want=${'$'}{spec#*=}; want=${'$'}{want%%-*}
      if is_k8s "$name"; then
        [ -n "$minor" ] || { echo "E: Unable to locate package $name" >&2; exit 100; }
        [ -n "$want" ] || want="${'$'}{minor#v}.0"
        case "$want" in "${'$'}{minor#v}".*) ;; *) echo "E: Version '$want-*' for '$name' was not found" >&2; exit 100 ;; esac
      else [ -n "$want" ] || want=1.7.24; fi
      if [ -f "$STATE/held/$name" ] && [ -z "$allow" ] && installed "$name" && [ "$(version_of "$name")" != "$want" ]; then echo "E: Held packages were changed and -y was used without --allow-change-held-packages." >&2; exit 100; fi
      plan="$plan $name=$want"
    done
    for item in $plan; do put "${'$'}{item%%=*}" "${'$'}{item#*=}" || exit 1; done ;;
  remove|purge)
    for name in $specs; do if [ -f "$STATE/held/$name" ]; then echo "E: Held packages were changed and -y was used without --allow-change-held-packages." >&2; exit 100; fi; done
    for name in $specs; do if installed "$name"; then rm -f "$PKGS/$name"; echo "Removing $name"; else echo "Package '$name' is not installed, so not removed"; fi; done ;;
esac`;

/**
 * dnf and zypper: the Kubernetes packages come from the .repo file of one minor (dnf: only with
 * --disableexcludes=kubernetes, as its exclude line says), containerd.io from Docker's; specs
 * are \`name-version\`.
 */
const RPM_MANAGER = String.raw`if [ "$TOOL" = dnf ]; then repo=/etc/yum.repos.d/kubernetes.repo; else repo=/etc/zypp/repos.d/kubernetes.repo; fi
verb=""; excluded=1; specs=""
for arg in "$@"; do case "$arg" in --disableexcludes=kubernetes) excluded="" ;; -*) ;; *) if [ -z "$verb" ]; then verb=$arg; else specs="$specs $arg"; fi ;; esac; done
case "$verb" in
  install|in)
    minor=$(repo_minor "$repo"); plan=""
    for spec in $specs; do
      name=$(echo "$spec" | sed 's/-[0-9].*$//'); want=$(echo "$spec" | sed -n 's/^.*-\([0-9][0-9.]*\)$/\1/p')
      if is_k8s "$name"; then
        if [ -z "$minor" ] || { [ "$TOOL" = dnf ] && [ -n "$excluded" ]; }; then echo "No match for argument: $spec" >&2; exit 1; fi
        [ -n "$want" ] || want="${'$'}{minor#v}.0"
        case "$want" in "${'$'}{minor#v}".*) ;; *) echo "No match for argument: $spec" >&2; exit 1 ;; esac
      else
        if [ "$name" = containerd.io ] && [ ! -f /etc/yum.repos.d/docker-ce.repo ]; then echo "No match for argument: $spec" >&2; exit 1; fi
        [ -n "$want" ] || want=1.7.24
      fi
      plan="$plan $name=$want"
    done
    for item in $plan; do put "${'$'}{item%%=*}" "${'$'}{item#*=}" || exit 1; done ;;
  remove|rm)
    for name in $specs; do rm -f "$PKGS/$name"; echo "Removing $name"; done ;;
esac`;

/**
 * kubectl, with the admin kubeconfig of a control-plane node: nodes are the test hosts that
 * joined the same cluster (by their node name), Ready as their \`node-ready\` says; drain cordons
 * a node in the cluster's store (\`cordoned/<node>\`), uncordon and delete lift it. \`exec\` runs
 * etcdctl in the etcd static pod of the host it runs on (\`etcd-<its node name>\`, no other):
 * \`member list\` and \`member remove <hex id>\` on the cluster's members (\`etcd/<id>\`, see KUBEADM).
 */
const KUBECTL = String.raw`needs_package kubectl
api=$(cat "$STATE/cluster" 2>/dev/null)
if [ ! -f "$STATE/control-plane" ] || [ -z "$api" ] || [ ! -d "$api" ]; then echo 'error: stat /etc/kubernetes/admin.conf: no such file or directory' >&2; exit 1; fi
verb=""; for arg in "$@"; do case "$arg" in get|drain|delete|uncordon|exec) [ -z "$verb" ] && verb=$arg ;; esac; done
name=""; prev=""; for arg in "$@"; do case "$prev" in node|drain|uncordon) [ -z "$name" ] && name="$arg" ;; esac; prev="$arg"; done
node_host() { for peer in "$APISERVERS"/*; do if [ "$(cat "$peer/node-name" 2>/dev/null)" = "$1" ] && [ "$(cat "$peer/cluster" 2>/dev/null)" = "$api" ]; then echo "$peer"; return 0; fi; done; return 1; }
not_found() { echo "Error from server (NotFound): nodes \"$name\" not found" >&2; exit 1; }
case "$verb" in
  get) peer=$(node_host "$name") || not_found
    printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s"},"status":{"conditions":[{"type":"MemoryPressure","status":"False"},{"type":"Ready","status":"%s"}]}}\n' "$name" "$(cat "$peer/node-ready")" ;;
  drain) node_host "$name" >/dev/null || not_found; mkdir -p "$api/cordoned"; touch "$api/cordoned/$name"; echo "node/$name cordoned"; echo "node/$name drained" ;;
  uncordon) node_host "$name" >/dev/null || not_found; rm -f "$api/cordoned/$name"; echo "node/$name uncordoned" ;;
  delete) rm -f "$api/cordoned/$name"; echo "node \"$name\" deleted" ;;
  exec)
    pod=""; prev=""; for arg in "$@"; do [ "$prev" = exec ] && pod="$arg"; prev="$arg"; done
    if [ "$pod" != "etcd-$(cat "$STATE/node-name")" ]; then echo "Error from server (NotFound): pods \"$pod\" not found" >&2; exit 1; fi
    while [ $# -gt 0 ] && [ "$1" != -- ]; do shift; done; shift
    [ "$1" = etcdctl ] || { echo "exec: \"$1\": executable file not found in \$PATH" >&2; exit 1; }
    words=""; for arg in "$@"; do case "$arg" in --*) ;; *) words="$words $arg" ;; esac; done
    set -- $words
    case "$2 $3" in
      "member list") for member in "$api"/etcd/*; do [ -f "$member" ] && printf '%s, started, %s, https://%s:2380, https://%s:2379, false\n' "$(basename "$member")" "$(cut -d' ' -f1 "$member")" "$(cut -d' ' -f2 "$member")" "$(cut -d' ' -f2 "$member")"; done; exit 0 ;;
      "member remove") [ -f "$api/etcd/$4" ] || { echo "Error: etcdserver: member not found" >&2; exit 1; }; rm -f "$api/etcd/$4"; echo "Member $4 removed from cluster 1" ;;
      *) echo "Error: unknown command \"$2 $3\" for \"etcdctl\"" >&2; exit 1 ;;
    esac ;;
esac`;

/**
 * kubeadm, with the cluster's join material as the real one keeps it, on the clock of `$CLOCK`:
 * `init` makes the host's cluster (`$STATE/apiserver`, its store) holding the token of its
 * configuration (for its ttl) and the certificates uploaded under its key (two hours);
 * `token create` and `init phase upload-certs` add a token and upload them again, from a host of
 * the cluster; `join` reaches the API server its configuration names and fails as kubeadm does
 * when it is not up, when the token is unknown or expired, or (control plane) when the
 * certificates are gone or under another key. `$STATE/cluster` names the cluster a host
 * belongs to; a control-plane host (`$STATE/control-plane`) answers as an API server at its own
 * address while it belongs to one. kube-vip: a control-plane host whose kubelet has the kube-vip
 * static pod (`/etc/kubernetes/manifests/kube-vip.yaml`) competes for its address
 * (`$STATE/vip`), and a join to that address reaches one such host still serving. A
 * control-plane host's init or join makes it a member of the cluster's etcd (`etcd/<hex id>`: its
 * node name and address); `reset` removes its own member (kubeadm's remove-etcd-member phase)
 * and takes all of it away. `TestSshd.powerOff` takes the host away but leaves its member, as a
 * host that dies does.
 */
const KUBEADM = String.raw`needs_package kubeadm
now=$(( $(date +%s) + $(cat "$CLOCK" 2>/dev/null || echo 0) ))
seconds() { echo "$1" | awk '{ s = 0; d = $0; while (match(d, /^[0-9]+[hms]/)) { n = substr(d, 1, RLENGTH - 1) + 0; u = substr(d, RLENGTH, 1); s += n * (u == "h" ? 3600 : u == "m" ? 60 : 1); d = substr(d, RLENGTH + 1) } print s }'; }
field() { sed -n "s/^ *$1: *\"\{0,1\}\([^\"]*\)\"\{0,1\}$/\1/p" "$2" | head -n 1; }
token_id() { echo "$1" | cut -d. -f1; }
serves() { [ -f "$1/control-plane" ] && [ -f "$1/cluster" ] && [ -d "$(cat "$1/cluster")" ]; }
kube_vip() {
  manifest=/etc/kubernetes/manifests/kube-vip.yaml
  [ -f "$manifest" ] || return 0
  sed -n '/name: address$/{n;s/^ *value: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p;}' "$manifest" > "$STATE/vip"
}
node_name() { sed -n '/^nodeRegistration:/,/^[^ ]/s/^  name: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$1" | head -n 1 > "$STATE/node-name"; }
etcd_member() { mkdir -p "$1/etcd"; echo "$(cat "$STATE/node-name") $ADDRESS" > "$1/etcd/$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"; }
cluster_api() {
  api=$(cat "$STATE/cluster" 2>/dev/null)
  if [ -z "$api" ] || [ ! -d "$api" ]; then echo 'failed to load admin kubeconfig: open /etc/kubernetes/admin.conf: no such file or directory' >&2; exit 1; fi
}
case "$1" in
  init)
    if [ "$2" = phase ]; then
      key=""; prev=""; for arg in "$@"; do [ "$prev" = --certificate-key ] && key="$arg"; prev="$arg"; done
      cluster_api
      echo "$key $((now + 7200))" > "$api/certs"
      echo '[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace'
      echo '[upload-certs] Using certificate key:'
      echo "$key"
      exit 0
    fi
    config=""; while [ $# -gt 0 ]; do [ "$1" = --config ] && config="$2"; shift; done
    token=$(sed -n 's/^[ -]*token: *"\{0,1\}\([a-z0-9.]*\)"\{0,1\}$/\1/p' "$config" | head -n 1)
    key=$(field certificateKey "$config")
    ttl=$(field ttl "$config")
    mkdir -p "$STATE/apiserver"
    echo "$token $((now + $(seconds "$ttl")))" >> "$STATE/apiserver/tokens"
    echo "$key $((now + 7200))" > "$STATE/apiserver/certs"
    echo "$STATE/apiserver" > "$STATE/cluster"
    echo "v$(version_of kubeadm)" > "$STATE/apiserver/version"
    node_name "$config"
    touch "$STATE/control-plane"
    etcd_member "$STATE/apiserver"
    kube_vip
    echo "[init] Using Kubernetes version: v$(version_of kubeadm)"
    echo "Your Kubernetes control-plane has initialized successfully!"
    echo "You can now join any number of control-plane nodes by running the following command on each as root:"
    echo "  kubeadm join 127.0.0.1:6443 --token $token --discovery-token-ca-cert-hash sha256:0000 --control-plane --certificate-key $key"
    echo "Then you can join any number of worker nodes by running the following on each as root:"
    echo "kubeadm join 127.0.0.1:6443 --token $token --discovery-token-ca-cert-hash sha256:0000" ;;
  token)
    [ "$2" = create ] || exit 0
    shift 2; token=""; ttl=24h0m0s
    while [ $# -gt 0 ]; do case "$1" in --ttl) ttl="$2"; shift ;; --description|--kubeconfig|--usages|--groups) shift ;; --*) ;; *) token="$1" ;; esac; shift; done
    cluster_api
    [ -n "$token" ] || token="$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' 
').$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' 
')"
    if grep -q "^$(token_id "$token")\." "$api/tokens"; then echo "error: bootstrap-token-$(token_id "$token") already exists" >&2; exit 1; fi
    echo "$token $((now + $(seconds "$ttl")))" >> "$api/tokens"
    echo "$token" ;;
  join)
    config=""; while [ $# -gt 0 ]; do [ "$1" = --config ] && config="$2"; shift; done
    endpoint=$(field apiServerEndpoint "$config")
    token=$(field token "$config")
    host=$(echo "$endpoint" | sed 's/:[0-9]*$//; s/^\[//; s/\]$//')
    api=""
    if [ -e "$APISERVERS/$host" ] && serves "$APISERVERS/$host"; then api=$(cat "$APISERVERS/$host/cluster"); fi
    # A virtual IP: held by a control-plane host running kube-vip for it, while it serves.
    if [ -z "$api" ]; then
      for peer in "$APISERVERS"/*; do
        if [ "$(cat "$peer/vip" 2>/dev/null)" = "$host" ] && serves "$peer"; then api=$(cat "$peer/cluster"); break; fi
      done
    fi
    if [ -z "$api" ]; then echo "error execution phase preflight: couldn't validate the identity of the API Server: Get \"https://$endpoint/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s\": dial tcp $endpoint: connect: connection refused" >&2; exit 1; fi
    expires=$(awk -v t="$token" '$1 == t { print $2 }' "$api/tokens" | tail -n 1)
    if [ -z "$expires" ] || [ "$expires" -le "$now" ]; then echo "error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID \"$(token_id "$token")\"" >&2; exit 1; fi
    if grep -q '^controlPlane:' "$config"; then
      key=$(field certificateKey "$config")
      uploaded=$(cat "$api/certs" 2>/dev/null)
      if [ -z "$uploaded" ] || [ "$(echo "$uploaded" | cut -d' ' -f2)" -le "$now" ]; then echo 'error execution phase control-plane-prepare/download-certs: error downloading certs: error downloading the secret: secrets "kubeadm-certs" not found' >&2; exit 1; fi
      if [ "$(echo "$uploaded" | cut -d' ' -f1)" != "$key" ]; then echo 'error execution phase control-plane-prepare/download-certs: error downloading certs: error decoding certificate key: cipher: message authentication failed' >&2; exit 1; fi
    fi
    echo "$api" > "$STATE/cluster"
    node_name "$config"
    if grep -q '^controlPlane:' "$config"; then touch "$STATE/control-plane"; etcd_member "$api"; kube_vip; fi
    echo "This node has joined the cluster" ;;
  upgrade)
    cluster_api
    mine="v$(version_of kubeadm)"; current=$(cat "$api/version")
    case "$2" in
      plan)
        echo "[upgrade/versions] Cluster version: $current"
        echo "[upgrade/versions] kubeadm version: $mine"
        echo "You can now apply the upgrade by executing the following command: kubeadm upgrade apply $mine" ;;
      apply)
        target=$3
        [ -f "$STATE/control-plane" ] || { echo 'couldn'"'"'t create a Kubernetes client from file "/etc/kubernetes/admin.conf"' >&2; exit 1; }
        if older "${'$'}{mine#v}" "${'$'}{target#v}"; then echo "[upgrade/version] FATAL: the --version argument is invalid due to these errors: Specified version to upgrade to \"$target\" is higher than the kubeadm version \"$mine\". Upgrade kubeadm first using the tool you used to install kubeadm" >&2; exit 1; fi
        echo "$target" > "$api/version"
        echo "[upgrade/successful] SUCCESS! Your cluster was upgraded to \"$target\". Enjoy!" ;;
      node)
        if older "${'$'}{mine#v}" "${'$'}{current#v}"; then echo "[upgrade] FATAL: kubeadm $mine is older than the control plane $current: upgrade kubeadm first" >&2; exit 1; fi
        echo "[upgrade] The configuration for this node was successfully updated!" ;;
    esac ;;
  reset)
    api=$(cat "$STATE/cluster" 2>/dev/null)
    if [ -f "$STATE/control-plane" ] && [ -n "$api" ] && [ -d "$api/etcd" ]; then
      for member in "$api"/etcd/*; do [ "$(cut -d' ' -f1 "$member" 2>/dev/null)" = "$(cat "$STATE/node-name")" ] && rm -f "$member" && echo "[reset] Removing member $(basename "$member") from the etcd cluster"; done
    fi
    rm -f "$STATE/cluster" "$STATE/control-plane" "$STATE/vip" "$STATE/node-name" /etc/kubernetes/manifests/*; echo "[reset] Deleted contents of the etcd data directory" ;;
esac`;

/** The directories a test host has of its own (bind-mounted in its mount namespace): everything the installer writes. */
export const HOST_DIRECTORIES = ['/etc/kubernetes', '/etc/apt/sources.list.d', '/etc/apt/keyrings', '/etc/yum.repos.d', '/etc/zypp/repos.d', '/etc/containerd', '/etc/modules-load.d', '/etc/sysctl.d', '/var/lib/flotilla'];

const STAND_INS = ['kubeadm', 'kubectl', 'kubelet', 'systemctl', 'apt-get', 'apt-mark', 'dpkg-query', 'dnf', 'zypper', 'rpm', 'curl', 'gpg', 'modprobe', 'sysctl'];

function procNetTcp(ports: readonly number[]): string {
  const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
  return header + ports.map((port, index) => `   ${index}: 00000000:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 ${1000 + index} 1\n`).join('');
}

/**
 * A real OpenSSH server for tests, on a loopback address and free port, with its own host key,
 * an authorised user key (root, publickey only), its own mount namespace where /etc/kubernetes
 * is a directory of its own (so several test hosts on one machine never share files), and
 * stand-in Kubernetes tools first on PATH.
 */
export class TestSshd {
  private readonly sockets: Server[] = [];

  private process: ChildProcess | null = null;

  private constructor(
    readonly address: string,
    readonly port: number,
    readonly dir: string,
  ) {}

  static async start(options: TestSshdOptions = {}): Promise<TestSshd> {
    const address = options.address ?? '127.0.0.1';
    const port = options.port ?? (await freePort());
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-sshd-'));
    const bin = join(dir, 'bin');
    const state = join(dir, 'state');
    const root = join(dir, 'root');
    for (const directory of [bin, state, root, join(state, 'packages')]) mkdirSync(directory, { recursive: true });
    for (const path of HOST_DIRECTORIES) mkdirSync(join(dir, 'fs', path), { recursive: true });
    if (options.hostKeyOf) {
      for (const file of ['host_key', 'host_key.pub']) copyFileSync(join(options.hostKeyOf.dir, file), join(dir, file));
      chmodSync(join(dir, 'host_key'), 0o600);
    } else execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test-host', '-f', join(dir, 'host_key')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test-user', '-f', join(dir, 'user_key')]);
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'user_key.pub')));
    const kubernetesVersion = (options.kubeletVersion ?? 'v1.34.2').replace(/^v/, '');
    const packages = options.packages ?? { kubeadm: kubernetesVersion, kubelet: kubernetesVersion, kubectl: kubernetesVersion, containerd: '1.7.24' };
    for (const [name, version] of Object.entries(packages)) writeFileSync(join(state, 'packages', name), `${version}\n`);
    writeFileSync(join(state, 'node-ready'), 'True\n');
    writeFileSync(join(dir, 'calls.log'), '');
    for (const tool of STAND_INS) {
      writeFileSync(join(bin, tool), standInScript(tool, join(dir, 'calls.log'), state, options.clockFile ?? '', address));
      chmodSync(join(bin, tool), 0o755);
    }
    const environment = [`PATH=${bin}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`];
    const facts = options.facts ?? healthyFacts(`host-${address.replace(/\./g, '-')}`);
    const sshd = new TestSshd(address, port, dir);
    // The newest host at an address is the one kubeadm join reaches there.
    rmSync(join(API_SERVERS, address), { force: true });
    symlinkSync(state, join(API_SERVERS, address));
    if (facts !== 'real') {
      await sshd.writeFacts(facts);
      environment.push(`FLOTILLA_PREFLIGHT_ROOT=${root}`);
    }
    writeFileSync(
      join(dir, 'sshd_config'),
      [
        `Port ${port}`,
        `ListenAddress ${address}`,
        `HostKey ${join(dir, 'host_key')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'StrictModes no',
        'UsePAM no',
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        `SetEnv ${environment.join(' ')}`,
        '',
      ].join('\n'),
    );
    // sshd insists on its privilege separation directory.
    mkdirSync('/run/sshd', { recursive: true });
    for (const path of HOST_DIRECTORIES) mkdirSync(path, { recursive: true });
    // Every directory the installer writes to is the host's own, in its mount namespace.
    const mounts = HOST_DIRECTORIES.map((path) => `mount --bind '${join(dir, 'fs', path)}' '${path}'`).join(' && ');
    const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `${mounts} && exec /usr/sbin/sshd -D -e -f "$0"`, join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    sshd.process = child;
    await new Promise<void>((resolve, reject) => {
      let stderr = '';
      const timer = setTimeout(() => {
        child.kill('SIGTERM');
        reject(new Error(`sshd did not start: ${stderr}`));
      }, 10_000);
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('Server listening')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`sshd exited with ${code}: ${stderr}`));
      });
    });
    child.stderr.resume();
    return sshd;
  }

  /** The user key's private half (OpenSSH format), as an operator would register it. */
  get userPrivateKey(): string {
    return readFileSync(join(this.dir, 'user_key'), 'utf8');
  }

  /** The host key's fingerprint as `ssh-keygen -l` prints it. */
  get hostKeyFingerprint(): string {
    return execFileSync('ssh-keygen', ['-l', '-f', join(this.dir, 'host_key.pub')], { encoding: 'utf8' }).split(' ')[1]!;
  }

  get userKeyFingerprint(): string {
    return execFileSync('ssh-keygen', ['-l', '-f', join(this.dir, 'user_key.pub')], { encoding: 'utf8' }).split(' ')[1]!;
  }

  /** Gives the host a new host key (as a reinstall would); takes effect for new connections. */
  rotateHostKey(): void {
    rmSync(join(this.dir, 'host_key'));
    rmSync(join(this.dir, 'host_key.pub'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test-host', '-f', join(this.dir, 'host_key')]);
  }

  /** Replaces the fake /proc and /etc the preflight probes read. */
  async writeFacts(facts: FakeFacts): Promise<void> {
    const root = join(this.dir, 'root');
    rmSync(root, { recursive: true, force: true });
    for (const server of this.sockets.splice(0)) await new Promise((resolve) => server.close(resolve));
    const write = (path: string, content: string): void => {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), content);
    };
    write('proc/sys/kernel/hostname', `${facts.hostname}\n`);
    write('proc/cpuinfo', Array.from({ length: facts.cpus }, (_, index) => `processor\t: ${index}\nmodel name\t: test\n\n`).join(''));
    write('proc/meminfo', `MemTotal:       ${facts.memoryMb * 1024} kB\nMemFree:        1024 kB\n`);
    write('proc/swaps', `Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n${facts.swapMb > 0 ? `/swapfile                               file\t\t${facts.swapMb * 1024}\t\t0\t\t-2\n` : ''}`);
    write('proc/sys/net/ipv4/ip_forward', `${facts.ipForward}\n`);
    write('proc/net/tcp', procNetTcp(facts.listeningPorts));
    write('proc/net/tcp6', procNetTcp([]));
    write('etc/os-release', `NAME="Test"\nID=${facts.osId}\nVERSION_ID="${facts.osVersion}"\n`);
    // Real sockets: the probe asks for a socket (test -S), not just a file.
    for (const socket of facts.runtimeSockets) {
      mkdirSync(join(root, socket, '..'), { recursive: true });
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(join(root, socket), resolve));
      this.sockets.push(server);
    }
  }

  /** Makes a stand-in call fail, e.g. ('kubeadm', 'join'), until `succeedAgain`. */
  failNext(tool: string, subcommand: string): void {
    writeFileSync(join(this.dir, 'state', `fail-${tool}-${subcommand}`), '');
  }

  succeedAgain(tool: string, subcommand: string): void {
    rmSync(join(this.dir, 'state', `fail-${tool}-${subcommand}`), { force: true });
  }

  setNodeReady(ready: boolean): void {
    writeFileSync(join(this.dir, 'state', 'node-ready'), ready ? 'True\n' : 'False\n');
  }

  /** Every stand-in call so far, in order. */
  invocations(): Invocation[] {
    return readFileSync(join(this.dir, 'calls.log'), 'utf8')
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => {
        const fields = line.split('\t');
        const stdin = fields.pop()!.slice(1);
        const [tool, ...argv] = fields;
        return { tool: tool!, argv: argv.map((arg) => Buffer.from(arg, 'base64').toString('utf8')), stdin: Buffer.from(stdin, 'base64').toString('utf8') };
      });
  }

  /** Runs a stand-in tool of this host outside SSH (as the host's root would), for what a test checks of the stand-ins themselves. */
  runStandIn(tool: string, args: string[]): { exitCode: number; output: string } {
    const result = spawnSync(join(this.dir, 'bin', tool), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { exitCode: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
  }

  /** Where a file of this host's /etc/kubernetes is, seen from outside its mount namespace. */
  kubernetesPath(path: string): string {
    return join(this.dir, 'fs', '/etc/kubernetes', path);
  }

  /** A file as this host sees it under /etc/kubernetes. */
  kubernetesFile(path: string): string | undefined {
    return this.file(join('/etc/kubernetes', path));
  }

  /** A file as this host sees it (under one of its own directories: `HOST_DIRECTORIES`). */
  file(path: string): string | undefined {
    const file = join(this.dir, 'fs', path);
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  }

  /** Puts a file of the host's own in place (under one of `HOST_DIRECTORIES`), as if it had been there before. */
  writeFile(path: string, content: string): void {
    const file = join(this.dir, 'fs', path);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, content);
  }

  /** The host's installed packages and their versions. */
  packages(): Record<string, string> {
    const directory = join(this.dir, 'state', 'packages');
    return Object.fromEntries(readdirSync(directory).map((name) => [name, readFileSync(join(directory, name), 'utf8').trim()]));
  }

  /** Packages held back by apt-mark. */
  heldPackages(): string[] {
    return readdirSync(join(this.dir, 'state', 'held')).sort();
  }

  /** Nodes cordoned in the cluster this host initialised (`kubectl drain` not yet undone). */
  cordonedNodes(): string[] {
    const directory = join(this.dir, 'state', 'apiserver', 'cordoned');
    return existsSync(directory) ? readdirSync(directory).sort() : [];
  }

  /** The etcd members of the cluster this host initialised, by name (their node names). */
  etcdMembers(): string[] {
    const directory = join(this.dir, 'state', 'apiserver', 'etcd');
    return existsSync(directory) ? readdirSync(directory).map((id) => readFileSync(join(directory, id), 'utf8').split(' ')[0]!).sort() : [];
  }

  /** The control-plane version of the cluster this host initialised. */
  get clusterVersion(): string | undefined {
    const file = join(this.dir, 'state', 'apiserver', 'version');
    return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
  }

  /** Whether the host is a node of a cluster now (joined or initialised, not reset). */
  get isNode(): boolean {
    return existsSync(join(this.dir, 'state', 'cluster'));
  }

  /** How many times the host was rebooted. */
  get reboots(): number {
    const file = join(this.dir, 'state', 'reboots');
    return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : 0;
  }

  /** A reboot brings its node back Ready (otherwise whatever ails it outlives a reboot). */
  healedByReboot(): void {
    writeFileSync(join(this.dir, 'state', 'reboot-heals'), '');
  }

  /**
   * The host goes down: no more SSH, and its API server and kube-vip with it (the cluster's
   * store stays: the other control planes hold it too). `stop` still cleans up after.
   */
  async powerOff(): Promise<void> {
    const child = this.process;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    for (const file of ['cluster', 'control-plane', 'vip']) rmSync(join(this.dir, 'state', file), { force: true });
  }

  /** The virtual IP this host's kube-vip competes for; undefined when it runs none. */
  get kubeVipAddress(): string | undefined {
    const file = join(this.dir, 'state', 'vip');
    return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    for (const server of this.sockets.splice(0)) await new Promise((resolve) => server.close(resolve));
    const link = join(API_SERVERS, this.address);
    if (existsSync(link) && readlinkSync(link) === join(this.dir, 'state')) rmSync(link, { force: true });
    // A session sshd forked outlives the listener by a moment and may still write a state file.
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
}

/**
 * A suite's teardown: every step runs, in order, even when one before it failed (a step left
 * undone is a process that keeps the test file from exiting); the failures are thrown after, none
 * hidden behind another. The service goes before its hosts, so no session still writes to a host
 * being removed.
 */
export async function tearDown(...steps: (() => unknown)[]): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, `${failures.length} of ${steps.length} teardown steps failed`);
}

/** Stops every host, each whatever the others did. */
export async function stopAll(hosts: readonly TestSshd[]): Promise<void> {
  await tearDown(...hosts.map((host) => () => host.stop()));
}
