import { at } from './paths';

/**
 * Start-up checks of what goes on the wire: provider `headers` and `baseUrl`s. A header that cannot be sent, or a
 * URL carrying credentials, would otherwise fail (or leak) on every call; here it is a ConfigurationError naming the
 * field. Messages never echo a header value or a URL's userinfo (either may hold a secret).
 */

/** RFC 7230 `token`: what a header name may be. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Control characters other than HTAB (CR, LF and NUL among them), and anything beyond Latin-1 (not a ByteString). */
// eslint-disable-next-line no-control-regex
const BAD_VALUE_CHAR = /[\u0000-\u0008\u000a-\u001f\u007f]|[^\u0000-\u00ff]/;

/** Headers that carry the key's credential: the library sets them from `secretRef`, never from config. */
export const AUTH_HEADERS: ReadonlySet<string> = new Set(['authorization', 'x-api-key', 'api-key', 'x-goog-api-key']);
/** Headers the HTTP client owns (framing and connection management): setting them breaks every request. */
export const TRANSPORT_HEADERS: ReadonlySet<string> = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'expect']);

/** Problems of one provider's `headers` (`path` is `registry.providers.<name>.headers`). */
export function headerProblems(headers: unknown, path: string): string[] {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) return []; // the DTO reports the type
  const out: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const field = at(path, name);
    if (!TOKEN.test(name)) {
      out.push(`${field}: invalid header name (letters, digits and !#$%&'*+.^_\`|~- only, no spaces)`);
      continue;
    }
    const lower = name.toLowerCase();
    if (AUTH_HEADERS.has(lower)) {
      out.push(`${field}: would override the key's credential (the library sets ${lower} from the key's secretRef); remove it`);
      continue;
    }
    if (TRANSPORT_HEADERS.has(lower)) {
      out.push(`${field}: is set by the HTTP client and cannot be configured`);
      continue;
    }
    if (typeof value !== 'string') out.push(`${field}: must be a string`);
    else if (BAD_VALUE_CHAR.test(value)) out.push(`${field}: invalid header value (no CR, LF, NUL or other control characters, Latin-1 only)`);
  }
  return out;
}

/**
 * A `baseUrl` holding `user:password@` is refused: it would be sent and echoed with every error. The secret belongs
 * in `secretRef`. Returns the problem or undefined (an unparsable URL is left to the DTO's URL check).
 */
export function urlCredentialProblem(url: unknown, path: string): string | undefined {
  if (typeof url !== 'string') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return /@/.test(url) ? `${path}: must not carry credentials (user:password@host); put the secret in secretRef` : undefined;
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return `${path}: must not carry credentials (user:password@host); put the secret in secretRef`;
  }
  return undefined;
}
