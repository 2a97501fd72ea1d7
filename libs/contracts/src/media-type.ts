/**
 * Media types as RFC 9110 (section 8.3.1) writes them: `type "/" subtype *( OWS ";" OWS parameter )`,
 * a parameter being `token "=" ( token / quoted-string )`. Type, subtype and parameter names are
 * case-insensitive; so is the value of `charset`. The official CloudEvents SDKs send
 * `application/json; charset=utf-8`, other clients `application/json` or `Application/JSON`.
 */
export interface MediaType {
  /** `type/subtype`, lower case. */
  essence: string;
  /** Parameter names in lower case; values unquoted, as sent. */
  parameters: Record<string, string>;
}

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const MEDIA_TYPE = new RegExp(`^(${TOKEN})/(${TOKEN})[ \\t]*((?:;[ \\t]*(?:${TOKEN})=(?:${TOKEN}|"(?:[^"\\\\]|\\\\.)*")[ \\t]*)*)$`);
const PARAMETER = new RegExp(`;[ \\t]*(${TOKEN})=(${TOKEN}|"(?:[^"\\\\]|\\\\.)*")`, 'g');

/** The media type of a `content-type` value, or undefined when it is not one. */
export function parseMediaType(text: string): MediaType | undefined {
  const match = MEDIA_TYPE.exec(text.trim());
  if (!match) return undefined;
  const parameters: Record<string, string> = {};
  for (const [, name, value] of match[3]!.matchAll(PARAMETER)) {
    parameters[name!.toLowerCase()] = value!.startsWith('"') ? value!.slice(1, -1).replace(/\\(.)/g, '$1') : value!;
  }
  return { essence: `${match[1]!.toLowerCase()}/${match[2]!.toLowerCase()}`, parameters };
}

export const JSON_MEDIA_TYPE = 'application/json';

/**
 * Why a content type does not say "JSON text in UTF-8" (`application/json`, any case, any
 * parameters but a charset other than UTF-8), or undefined when it does.
 */
export function jsonMediaTypeProblem(text: string): string | undefined {
  // What every Flotilla event carries: checked for each message consumed, so without the parser.
  if (text === JSON_MEDIA_TYPE) return undefined;
  const media = parseMediaType(text);
  if (!media) return `"${text}" is not a media type (RFC 9110: type/subtype, then ;name=value parameters)`;
  if (media.essence !== JSON_MEDIA_TYPE) return `"${text}" is not ${JSON_MEDIA_TYPE}: data must be JSON`;
  const charset = media.parameters['charset'];
  if (charset !== undefined && charset.toLowerCase() !== 'utf-8') return `"${text}" names charset ${charset}: JSON is UTF-8`;
  return undefined;
}

/** True when a content type is `application/json` (any case, any parameters but a non-UTF-8 charset). */
export function isJsonMediaType(text: string): boolean {
  return jsonMediaTypeProblem(text) === undefined;
}

/** True when a content type names the structured mode: `application/cloudevents+json`, any case or parameters. */
export function isStructuredMediaType(text: string): boolean {
  if (text === JSON_MEDIA_TYPE) return false;
  return parseMediaType(text)?.essence === 'application/cloudevents+json';
}
