import type { ProviderSettings } from '../config/resolved-config';
import type { Exchange, HttpRequest } from '../transport/http';
import type { ChatMessage, ErrorKind, FinishReason, ProviderName, Usage } from '../types';

/** The unified request every adapter maps to its vendor's format. */
export interface UnifiedRequest {
  messages: readonly ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  stop?: readonly string[];
}

/** What an adapter needs to build one request. */
export interface CallTarget {
  readonly provider: ProviderName;
  readonly keyId: string;
  /** The model id to send (after fallback rewriting, before vendor mapping such as Azure deployments). */
  readonly model: string;
  readonly secret: string;
  /** The key's `baseUrl`, else the provider's, else the adapter's default. */
  readonly baseUrl: string;
  readonly settings: ProviderSettings;
  readonly metadata: Readonly<Record<string, unknown>>;
}

export interface ParsedResult {
  content: string;
  finishReason: FinishReason;
  usage: Usage;
  /** The model the vendor says answered, when it says. */
  model?: string;
}

/** One piece of a stream, as decoded by an adapter. */
export interface StreamDelta {
  delta?: string;
  finishReason?: FinishReason;
  usage?: Partial<Usage>;
  /** A vendor error event inside a stream (HTTP status was 200). */
  error?: ClassifiedError;
}

export interface ClassifiedError {
  kind: ErrorKind;
  status: number;
  /** The vendor's message (scrubbed later by the engine). */
  message: string;
  retryAfterMs?: number;
}

/**
 * A wire format: a pure mapper between the unified model and one vendor's HTTP API.
 * Auth that needs a vendor library (SigV4, Google OAuth) happens in `buildRequest`, which may be async.
 */
export interface ProviderAdapter {
  readonly provider: ProviderName;
  /** The vendor's own SDK base URL (empty when the user must give one, e.g. Azure's resource endpoint). */
  readonly defaultBaseUrl: string;
  buildRequest(target: CallTarget, req: UnifiedRequest, stream: boolean): HttpRequest | Promise<HttpRequest>;
  parseResponse(body: unknown, target: CallTarget): ParsedResult;
  /** Decodes a streaming body into deltas (SSE for most vendors, AWS event-stream for Bedrock). */
  readStream(ex: Exchange, res: Response, target: CallTarget): AsyncIterable<StreamDelta>;
  /** Maps an HTTP error answer to an error class. */
  classifyError(status: number, headers: Headers, body: string, now: number): ClassifiedError;
  /** On a successful answer: the epoch ms until which the key should be cooled because its window is spent. */
  successCooldownUntil(headers: Headers, now: number): number | undefined;
  /** Start-up checks of a key's settings (e.g. a Bedrock key without a region), as `path: problem` lines. */
  configProblems?(key: Pick<CallTarget, 'keyId' | 'baseUrl' | 'settings' | 'metadata'>): string[];
}
