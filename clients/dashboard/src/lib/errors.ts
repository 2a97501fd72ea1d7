// The API's error answers as one message for people: NestJS bodies (`message` as a string or a
// list, `errors` naming fields), the entry point's JSON, or plain text.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The message of an error answer with `status` and its body text. */
export function errorFromAnswer(status: number, statusText: string, body: string): ApiError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed === 'object' && parsed !== null) {
    const record = parsed as Record<string, unknown>;
    const code = typeof record['code'] === 'string' ? record['code'] : undefined;
    const message = messageOf(record['message']) ?? messageOf(record['error']);
    if (message) return new ApiError(status, message, code);
  }
  const text = body.trim();
  return new ApiError(status, text && text.length <= 500 && !text.startsWith('<') ? text : `${status} ${statusText}`.trim());
}

function messageOf(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim()) return value;
  if (Array.isArray(value)) {
    const lines = value.filter((item): item is string => typeof item === 'string' && item.trim() !== '');
    if (lines.length > 0) return lines.join('; ');
  }
  return undefined;
}

/** Any thrown value as a sentence. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
