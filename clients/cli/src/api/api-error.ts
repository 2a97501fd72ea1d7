/**
 * The readable part of an API error body: every field problem as `field: message` (validation
 * answers list them in `errors` and `message`), else the message, with the code when there is one.
 * Undefined when the body says nothing usable.
 */
export function apiErrorMessage(text: string): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    const trimmed = text.trim();
    return trimmed.length > 0 && trimmed.length < 500 ? trimmed : undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  const problems = Array.isArray(record.errors) ? record.errors.flatMap(problemLine) : [];
  const messages = Array.isArray(record.message) ? record.message.filter((line): line is string => typeof line === 'string') : typeof record.message === 'string' ? [record.message] : [];
  const code = typeof record.code === 'string' ? record.code : undefined;
  const lines = problems.length > 0 ? problems : messages;
  if (lines.length === 0) return code;
  const summary = lines.length === 1 ? lines[0]! : `invalid request:\n${lines.map((line) => `  ${line}`).join('\n')}`;
  return code !== undefined && !summary.includes(code) ? `${summary} [${code}]` : summary;
}

function problemLine(problem: unknown): string[] {
  if (typeof problem !== 'object' || problem === null) return [];
  const { field, message } = problem as { field?: unknown; message?: unknown };
  if (typeof message !== 'string') return [];
  return [typeof field === 'string' && field.length > 0 && !message.startsWith(`${field}:`) ? `${field}: ${message}` : message];
}
