import { createRequire } from 'node:module';
import { ConfigurationError } from '../../errors';

/**
 * The AWS libraries Bedrock needs, loaded lazily with `require()` the first time a bedrock key is used, so
 * users of other providers need none of them. SigV4 signing and event-stream framing are never hand-written:
 * they come from the AWS SDK's own packages (optional peer dependencies of this library).
 */

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** The request shape `@smithy/signature-v4` signs (an `HttpRequest` of `@smithy/types`). */
export interface SignableRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string>;
  body: string | Uint8Array;
}

export interface RequestSigner {
  sign(request: SignableRequest, options?: { signingDate?: Date }): Promise<{ headers: Record<string, string> }>;
}

type SignerCtor = new (init: { credentials: AwsCredentials; region: string; service: string; sha256: unknown }) => RequestSigner;

/** A decoded event-stream message (`Message` of `@smithy/types`). */
export interface EventStreamMessage {
  headers: Record<string, { type: string; value: unknown }>;
  body: Uint8Array;
}

export interface EventStreamCodecLike {
  decode(frame: Uint8Array): EventStreamMessage;
  encode(message: EventStreamMessage): Uint8Array;
}

export interface EventStreamLibs {
  codec: EventStreamCodecLike;
  /** Splits a byte stream into whole event-stream frames (frames may span or share chunks). */
  chunked(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array>;
}

const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();
const toUtf8 = (bytes: Uint8Array): string => utf8Decoder.decode(bytes);
const fromUtf8 = (text: string): Uint8Array => utf8Encoder.encode(text);

let signing: { SignatureV4: SignerCtor; Sha256: unknown } | undefined;
let eventStream: EventStreamLibs | undefined;

/** `@smithy/signature-v4` + `@aws-crypto/sha256-js`, or a clear error saying what to install. */
export function loadSigning(): { SignatureV4: SignerCtor; Sha256: unknown } {
  if (signing === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { SignatureV4 } = require('@smithy/signature-v4') as { SignatureV4: SignerCtor };
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { Sha256 } = require('@aws-crypto/sha256-js') as { Sha256: unknown };
      signing = { SignatureV4, Sha256 };
    } catch {
      throw new ConfigurationError([
        'registry.providers.bedrock: keys with AWS credentials are signed with SigV4, which needs the optional packages ' +
          '@smithy/signature-v4 and @aws-crypto/sha256-js (npm i @smithy/signature-v4 @aws-crypto/sha256-js)',
      ]);
    }
  }
  return signing;
}

/**
 * `EventStreamCodec` from `@smithy/eventstream-codec` decodes (and checks the CRCs of) one frame; the AWS SDK's
 * own frame splitter (`getChunkedStream`, in `@smithy/core/event-streams`, the codec's own dependency since
 * 4.3) cuts the byte stream into frames. It is resolved from the codec's location so that strict layouts (pnpm) work.
 */
export function loadEventStream(): EventStreamLibs {
  if (eventStream === undefined) {
    let codecModule: { EventStreamCodec: new (to: typeof toUtf8, from: typeof fromUtf8) => EventStreamCodecLike };
    let codecPath: string;
    try {
      codecPath = require.resolve('@smithy/eventstream-codec');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      codecModule = require(codecPath) as typeof codecModule;
    } catch {
      throw new ConfigurationError([
        'registry.providers.bedrock: streaming (ConverseStream) needs the optional package @smithy/eventstream-codec (npm i @smithy/eventstream-codec)',
      ]);
    }
    const chunked = loadChunker(codecPath);
    eventStream = { codec: new codecModule.EventStreamCodec(toUtf8, fromUtf8), chunked };
  }
  return eventStream;
}

function loadChunker(codecPath: string): EventStreamLibs['chunked'] {
  for (const req of [createRequire(codecPath), require]) {
    try {
      const m = req('@smithy/core/event-streams') as { getChunkedStream?: EventStreamLibs['chunked'] };
      if (typeof m.getChunkedStream === 'function') return m.getChunkedStream;
    } catch {
      /* try the next resolution base */
    }
  }
  throw new ConfigurationError([
    'registry.providers.bedrock: streaming (ConverseStream) needs @smithy/eventstream-codec >= 4.3 (built on @smithy/core); ' +
      'upgrade it (npm i @smithy/eventstream-codec@^4.3)',
  ]);
}
