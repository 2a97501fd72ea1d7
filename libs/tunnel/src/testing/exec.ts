import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';

/** The remote command subprotocols the stand-in speaks, best first (kubectl >= 1.30 offers v5 first). */
export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
/** v5: a peer closing one of its streams (`[255, channel]`). */
const CLOSE = 255;

/**
 * Runs one command of a tiny set on a WebSocket exec connection (channel-prefixed binary
 * frames): `echo words...`, `cat` (stdout echoes stdin until stdin closes), `sh -c "<script>"`
 * where the script is `;`-separated `echo words` (`>&2` for stderr) and `exit N`. Anything else
 * says "not found" on stderr and exits 127. Ends with a v1 Status on channel 3, then closes.
 */
export function runExec(socket: WebSocket, command: string[]): void {
  const send = (channel: number, text: string | Buffer) => socket.send(Buffer.concat([Buffer.of(channel), Buffer.from(text)]));
  const finish = (code: number) => {
    if (socket.readyState !== socket.OPEN) return;
    send(STATUS, JSON.stringify(exitStatus(code, command)));
    socket.close(1000);
  };
  const [program, ...args] = command;
  if (program === 'cat' && args.length === 0) {
    socket.on('message', (data: RawData) => {
      const frame = toBuffer(data);
      if (frame[0] === STDIN && frame.length > 1) send(STDOUT, frame.subarray(1));
      else if (frame[0] === CLOSE && frame[1] === STDIN) finish(0);
    });
    return;
  }
  if (program === 'echo') {
    send(STDOUT, `${args.join(' ')}\n`);
    return finish(0);
  }
  if (program === 'sh' && args[0] === '-c' && args.length === 2) return finish(runScript(args[1]!, send));
  send(STDERR, `sh: ${program ?? ''}: not found\n`);
  finish(127);
}

function runScript(script: string, send: (channel: number, text: string) => void): number {
  for (const statement of script.split(';').map((part) => part.trim())) {
    const exit = /^exit\s+(\d+)$/.exec(statement);
    if (exit) return Number(exit[1]);
    const echo = /^echo(?:\s+(.*?))?(\s*>&2)?$/.exec(statement);
    if (echo) send(echo[2] ? STDERR : STDOUT, `${(echo[1] ?? '').replace(/^(["'])(.*)\1$/, '$2')}\n`);
    else if (statement !== '') {
      send(STDERR, `sh: ${statement.split(/\s+/)[0]}: not found\n`);
      return 127;
    }
  }
  return 0;
}

/** What the kubelet reports on the status channel: Success, or NonZeroExitCode with the code. */
function exitStatus(code: number, command: string[]): object {
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

/**
 * Port-forward in any other upgrade protocol (SPDY/3.1, say): answers 101 and echoes every byte
 * it receives, so a relay is shown to carry a raw upgraded stream as it is.
 */
export function echoUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
  const protocol = String(request.headers.upgrade);
  const version = request.headers['x-stream-protocol-version'];
  const chosen = Array.isArray(version) ? version[0] : version?.split(',')[0]?.trim();
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\n${chosen ? `X-Stream-Protocol-Version: ${chosen}\r\n` : ''}\r\n`);
  if (head.length > 0) socket.write(head);
  socket.on('data', (chunk: Buffer) => socket.write(chunk));
  socket.on('end', () => socket.end());
  socket.on('error', () => socket.destroy());
}
