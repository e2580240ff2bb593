import type { ProviderSettings } from '../config/resolved-config';
import type { ProviderName } from '../types';
import type { OutgoingRequest } from './outgoing';

const GEMINI_MODEL = /\/(?:models|tunedModels)\/([^/:?]+)(?::|$)/;
const BEDROCK_MODEL = /\/model\/([^/?]+)(?:\/|$)/;
const AZURE_DEPLOYMENT = /\/deployments\/([^/?]+)(?:\/|$)/;

/**
 * The model a client's request names, as the keys' `models` lists name it: the model in the URL where the wire format
 * puts it there (Gemini and Vertex AI `…/models/{model}:method`, Bedrock `/model/{modelId}/…`, an Azure deployment
 * mapped back through `deployments`), else the JSON body's top-level `model` (OpenAI, Anthropic, OpenRouter, Azure's
 * v1 API), else a multipart body's `model` field. Undefined when the request names none.
 */
export function requestModel(provider: ProviderName, req: OutgoingRequest, settings: ProviderSettings | undefined): string | undefined {
  const path = req.url.pathname;
  switch (provider) {
    case 'google_ai_studio':
    case 'google_vertex': {
      const m = GEMINI_MODEL.exec(path);
      if (m !== null) return decode(m[1]);
      const b = bodyModel(req);
      return b?.startsWith('models/') ? b.slice('models/'.length) : b;
    }
    case 'bedrock': {
      const m = BEDROCK_MODEL.exec(path);
      return m !== null ? decode(m[1]) : bodyModel(req);
    }
    case 'azure_openai': {
      const m = AZURE_DEPLOYMENT.exec(path);
      const deployment = m !== null ? decode(m[1]) : bodyModel(req);
      return deployment === undefined ? undefined : modelOfDeployment(deployment, settings);
    }
    default:
      return bodyModel(req);
  }
}

/** An Azure deployment name → the model whose `deployments` entry names it (the same name when none does). */
function modelOfDeployment(deployment: string, settings: ProviderSettings | undefined): string {
  const map = settings?.deployments;
  if (map !== undefined) {
    for (const [model, d] of Object.entries(map)) if (d === deployment) return model;
  }
  return deployment;
}

function bodyModel(req: OutgoingRequest): string | undefined {
  if (req.formModel !== undefined) return req.formModel;
  const b = req.body;
  if (b === undefined) return undefined;
  const text = typeof b === 'string' ? b : looksLikeJson(b) ? new TextDecoder().decode(b) : undefined;
  return text === undefined ? undefined : topLevelString(text, 'model');
}

/** `{` after optional whitespace: worth decoding to look for a model. */
function looksLikeJson(b: Uint8Array): boolean {
  for (let i = 0; i < b.length && i < 64; i++) {
    const c = b[i];
    if (c === 0x7b) return true;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return false;
  }
  return false;
}

/**
 * The string value of a top-level key of a JSON object, found without parsing the document: strings are skipped with
 * `indexOf` (a large base64 image costs one native scan), nesting is counted, and the scan stops at the key. The
 * clients put `model` first, so this is usually a few dozen characters of work. Undefined when absent or not a string.
 */
export function topLevelString(json: string, key: string): string | undefined {
  let depth = 0;
  let i = 0;
  const n = json.length;
  let expectKey = false;
  while (i < n) {
    const c = json.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const end = stringEnd(json, i);
      if (end < 0) return undefined;
      if (depth === 1 && expectKey) {
        let j = end + 1;
        while (j < n && isSpace(json.charCodeAt(j))) j++;
        if (json.charCodeAt(j) === 0x3a /* : */ && end - i - 1 === key.length && json.startsWith(key, i + 1)) {
          j++;
          while (j < n && isSpace(json.charCodeAt(j))) j++;
          if (json.charCodeAt(j) !== 0x22) return undefined;
          const vEnd = stringEnd(json, j);
          if (vEnd < 0) return undefined;
          const raw = json.slice(j + 1, vEnd);
          if (!raw.includes('\\')) return raw;
          try {
            return JSON.parse(json.slice(j, vEnd + 1)) as string;
          } catch {
            return undefined;
          }
        }
      }
      expectKey = false;
      i = end + 1;
      continue;
    }
    if (c === 0x7b /* { */) {
      depth++;
      expectKey = depth === 1;
    } else if (c === 0x5b /* [ */) {
      depth++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    } else if (c === 0x2c /* , */) {
      expectKey = depth === 1;
    } else if (depth === 0 && !isSpace(c)) {
      return undefined; // not an object
    }
    i++;
  }
  return undefined;
}

/** Index of the quote closing the string that opens at `start`, or -1. */
function stringEnd(s: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const q = s.indexOf('"', i);
    if (q < 0) return -1;
    let slashes = 0;
    for (let k = q - 1; k > start && s.charCodeAt(k) === 0x5c; k--) slashes++;
    if (slashes % 2 === 0) return q;
    i = q + 1;
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
