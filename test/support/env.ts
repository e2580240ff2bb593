/** Variables through which the sample finds real keys or other configuration: cleared for demo-mode tests. */
export const SAMPLE_ENV_VARS = [
  'OPENAI_API_KEY',
  'OPENAI_API_KEY_2',
  'OPENAI_BASE_URL',
  'OPENROUTER_API_KEY',
  'OPENROUTER_BASE_URL',
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_BASE_URL',
  'GEMINI_API_KEY',
  'GOOGLE_GEMINI_BASE_URL',
  'AZURE_OPENAI_API_KEY',
  'AZURE_OPENAI_ENDPOINT',
  'AWS_BEARER_TOKEN_BEDROCK',
  'AWS_REGION',
  'BEDROCK_BASE_URL',
  'GOOGLE_APPLICATION_CREDENTIALS',
  'GOOGLE_CLOUD_LOCATION',
  'VERTEX_BASE_URL',
  'LLM_ROTATE_CONFIG',
  'LLM_MODEL',
  'LLM_STRATEGY',
  'REDIS_URL',
  'DEMO_STREAM_DELAY_MS',
  'DEMO_RESPONSE_DELAY_MS',
  'LLM_LOG_USAGE',
  'DEMO_OPENAI_KEY_LIMITED',
  'DEMO_OPENAI_KEY_OK',
  'PORT',
] as const;

/**
 * Sets `vars` on `process.env` (undefined deletes) after clearing {@link SAMPLE_ENV_VARS}; returns the function
 * that puts the environment back as it was.
 */
export function setSampleEnv(vars: Record<string, string | undefined> = {}): () => void {
  const names = new Set<string>([...SAMPLE_ENV_VARS, ...Object.keys(vars)]);
  const saved = new Map<string, string | undefined>();
  for (const n of names) saved.set(n, process.env[n]);
  for (const n of SAMPLE_ENV_VARS) delete process.env[n];
  for (const [n, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[n];
    else process.env[n] = v;
  }
  return () => {
    for (const [n, v] of saved) {
      if (v === undefined) delete process.env[n];
      else process.env[n] = v;
    }
  };
}

/** The environment for a child process running the sample in demo mode. */
export function sampleChildEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const n of SAMPLE_ENV_VARS) delete env[n];
  return { ...env, ...vars };
}
