/** The Gemini `generateContent` wire format, as shared by Google AI Studio and Vertex AI (only what we read or send). */

export interface GeminiPart {
  text?: string;
  /** Thinking models mark their reasoning parts; they are not part of the answer. */
  thought?: boolean;
}

export interface GeminiContent {
  role?: 'user' | 'model';
  parts: GeminiPart[];
}

export interface GeminiGenerationConfig {
  temperature?: number;
  maxOutputTokens?: number;
  topP?: number;
  stopSequences?: string[];
}

export interface GeminiRequestBody {
  contents: GeminiContent[];
  systemInstruction?: { parts: GeminiPart[] };
  generationConfig?: GeminiGenerationConfig;
}

/** `google.rpc.Status` as Google's JSON APIs send it in an error body. */
export interface GoogleRpcError {
  code?: number;
  message?: string;
  status?: string;
  details?: Array<{ '@type'?: string; reason?: string; retryDelay?: string; [k: string]: unknown }>;
}
