import { InvalidRequestError } from '../errors';

/**
 * A client's request, read once so that it can be sent again with another key: the URL, method and headers as the
 * client built them, and the body in memory (a string as the clients send JSON, else bytes). A stream body or a
 * `FormData` (file and audio uploads) is read into memory here; nothing else is copied.
 */
export interface OutgoingRequest {
  readonly url: URL;
  readonly method: string;
  /** As the client gave them (each attempt copies them once, to place its credential). */
  readonly headers: HeadersInit;
  readonly body: string | Uint8Array<ArrayBuffer> | undefined;
  /** The client's own AbortSignal (its timeout and its user's cancel). */
  readonly signal: AbortSignal | undefined;
  /** The rest of the client's `RequestInit` (`redirect`, `keepalive`, undici's `dispatcher`, …), passed on as given. */
  readonly extras: RequestInit;
  /** A multipart body's `model` field (audio transcriptions, …). */
  readonly formModel: string | undefined;
}

/** Reads `fetch(input, init)`'s arguments into a replayable request. */
export async function readOutgoing(input: string | URL | Request, init: RequestInit | undefined): Promise<OutgoingRequest> {
  const { headers, body, signal, method, ...extras } = init ?? {};
  delete (extras as { duplex?: unknown }).duplex;
  const formModel = body instanceof FormData ? formString(body.get('model')) : undefined;
  if (!(input instanceof Request) && isPlainBody(body)) {
    return {
      url: toUrl(input),
      method: (method ?? 'GET').toUpperCase(),
      headers: headers ?? {},
      body: body === null || body === undefined ? undefined : typeof body === 'string' ? body : body instanceof ArrayBuffer ? new Uint8Array(body) : (body as Uint8Array<ArrayBuffer>),
      signal: signal ?? undefined,
      extras,
      formModel,
    };
  }
  // A Request, or a body only a Request knows how to serialize (FormData with its boundary, URLSearchParams, Blob,
  // a stream): let the platform build it, then read the bytes once.
  let req: Request;
  try {
    req = init === undefined && input instanceof Request ? input : new Request(input, { ...init, duplex: 'half' } as RequestInit);
  } catch (e) {
    throw new InvalidRequestError(`fetch: the request cannot be built (${(e as Error).message})`);
  }
  const bytes = req.body === null ? undefined : new Uint8Array(await req.arrayBuffer());
  return {
    url: toUrl(req.url),
    method: req.method.toUpperCase(),
    headers: req.headers,
    body: bytes,
    signal: signal ?? (input instanceof Request ? input.signal : undefined),
    extras,
    formModel,
  };
}

function isPlainBody(body: RequestInit['body']): boolean {
  return body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer;
}

function toUrl(input: string | URL | Request): URL {
  const s = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  try {
    return new URL(s);
  } catch {
    throw new InvalidRequestError(`fetch: "${s.slice(0, 200)}" is not an absolute URL`);
  }
}

function formString(v: FormDataEntryValue | null): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}
