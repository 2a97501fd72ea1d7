// Prefixing every line a child process writes with its name, like `inventory     │ {...}`.

const COLOURS = [36, 32, 35, 33, 34, 96, 92, 95, 93, 94]; // cyan, green, magenta, yellow, blue, bright ...
const DIM = 90;

/** Whether to colour: a TTY, unless NO_COLOR is set; FORCE_COLOR forces it (0 turns it off). */
export function useColour(stream, env) {
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return Boolean(stream?.isTTY);
}

/** The SGR colour code of the i-th labelled process; infrastructure (nats, postgres) is dim. */
export function colourFor(index, { dim = false } = {}) {
  return dim ? DIM : COLOURS[index % COLOURS.length];
}

/** `inventory` padded to `width`, coloured when `colour` is an SGR code, then `│ `. */
export function formatPrefix(label, { width = label.length, colour } = {}) {
  const text = `${label.padEnd(width)} │ `;
  return colour === undefined ? text : `\x1b[${colour}m${text}\x1b[0m`;
}

/**
 * Splits one stream into lines: `push(chunk)` returns the lines it completed, `end()` the
 * unterminated rest (if any). Handles chunks that split a line or a multi-byte character, and \r\n.
 */
export function createLineSplitter() {
  const decoder = new TextDecoder('utf-8');
  let pending = '';
  const clean = (line) => (line.endsWith('\r') ? line.slice(0, -1) : line);
  return {
    push(chunk) {
      pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      return lines.map(clean);
    },
    end() {
      pending += decoder.decode();
      const rest = pending;
      pending = '';
      return rest === '' ? [] : [clean(rest)];
    },
  };
}

/** The lines, each with the prefix and a newline, as one string. */
export function prefixLines(lines, prefix) {
  return lines.map((line) => `${prefix}${line}\n`).join('');
}

/**
 * Writes a readable stream to `write` line by line with the prefix. `onLine` sees every line;
 * lines for which `hide(line)` is true are not written.
 */
export function pipePrefixed(readable, prefix, write, { onLine, hide } = {}) {
  const splitter = createLineSplitter();
  const emit = (lines) => {
    for (const line of lines) onLine?.(line);
    const shown = hide ? lines.filter((line) => !hide(line)) : lines;
    if (shown.length > 0) write(prefixLines(shown, prefix));
  };
  readable.on('data', (chunk) => emit(splitter.push(chunk)));
  readable.on('end', () => emit(splitter.end()));
}
