import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../../..');

/**
 * The AWS packages are optional peers: loading the library must not load them, and a missing one must be a clear
 * error at the moment bedrock needs it. Each case runs in a fresh Node process (TypeScript through @swc-node) in
 * which the listed packages cannot be resolved, as if they were not installed.
 */
async function inChild(blocked: string[], body: string): Promise<Record<string, unknown>> {
  const script = `
    const Module = require('node:module');
    const blocked = ${JSON.stringify(blocked)};
    const resolveFilename = Module._resolveFilename;
    Module._resolveFilename = function (req, ...rest) {
      if (blocked.some((b) => req === b || req.startsWith(b + '/'))) {
        const e = new Error("Cannot find module '" + req + "'");
        e.code = 'MODULE_NOT_FOUND';
        throw e;
      }
      return resolveFilename.call(this, req, ...rest);
    };
    const awsLoaded = () => Object.keys(require.cache).filter((k) => /[\\\\/]@(smithy|aws-crypto|aws-sdk)[\\\\/]/.test(k)).length;
    (async () => {
      const out = {};
      ${body}
      process.stdout.write(JSON.stringify(out));
    })().catch((e) => { process.stdout.write(JSON.stringify({ crashed: String(e && e.stack || e) })); });
  `;
  const { stdout } = await run(process.execPath, ['-r', '@swc-node/register', '-e', script], { cwd: ROOT, timeout: 60_000 });
  return JSON.parse(stdout) as Record<string, unknown>;
}

const TARGET = `{
  provider: 'bedrock', keyId: 'k1', model: 'm:0', baseUrl: 'https://bedrock-runtime.{region}.amazonaws.com',
  settings: { provider: 'bedrock', timeoutMs: 1000, headers: {}, region: 'us-east-1', health: {} }, metadata: {},
}`;
const HI = `{ messages: [{ role: 'user', content: 'hi' }] }`;
const CREDS = JSON.stringify(JSON.stringify({ accessKeyId: 'AKIDLAZY', secretAccessKey: 'lazy-secret' }));

describe('bedrock: the AWS packages are optional and loaded lazily', () => {
  it('loading the library (and building an engine with bedrock keys) loads none of them; signing does', async () => {
    const out = await inChild(
      [],
      `
      const { LlmRotate } = require('./lib');
      const lr = await LlmRotate.create({ registry: { keys: [{ keyId: 'b', provider: 'bedrock', secretRef: 'literal://x', metadata: { region: 'us-east-1' } }] }, useKeys: ['b'] });
      out.afterCreate = awsLoaded();
      await lr.close();
      const { BedrockAdapter } = require('./lib/core/providers/bedrock/bedrock.adapter');
      await new BedrockAdapter().buildRequest({ ...${TARGET}, secret: 'ABSKbearer' }, ${HI}, false);
      out.afterBearer = awsLoaded();
      await new BedrockAdapter().buildRequest({ ...${TARGET}, secret: ${CREDS} }, ${HI}, false);
      out.afterSigV4 = awsLoaded();
      `,
    );
    expect(out).toEqual({ afterCreate: 0, afterBearer: 0, afterSigV4: expect.any(Number) });
    expect(out.afterSigV4).toBeGreaterThan(0);
  }, 90_000);

  it('without @smithy/signature-v4, AWS-credential keys fail with what to install; API keys still work', async () => {
    const out = await inChild(
      ['@smithy/signature-v4'],
      `
      const { BedrockAdapter } = require('./lib/core/providers/bedrock/bedrock.adapter');
      const a = new BedrockAdapter();
      const bearer = await a.buildRequest({ ...${TARGET}, secret: 'ABSKbearer' }, ${HI}, false);
      out.bearerAuth = bearer.headers.authorization;
      const err = await a.buildRequest({ ...${TARGET}, secret: ${CREDS} }, ${HI}, false).catch((e) => e);
      out.name = err.name;
      out.message = err.message;
      `,
    );
    expect(out.bearerAuth).toBe('Bearer ABSKbearer');
    expect(out.name).toBe('ConfigurationError');
    expect(out.message).toContain('npm i @smithy/signature-v4 @aws-crypto/sha256-js');
    expect(out.message).not.toContain('lazy-secret');
  }, 90_000);

  it('without @smithy/eventstream-codec, streaming fails with what to install', async () => {
    const out = await inChild(
      ['@smithy/eventstream-codec'],
      `
      const { BedrockAdapter } = require('./lib/core/providers/bedrock/bedrock.adapter');
      const { Exchange } = require('./lib/core/transport/http');
      const ex = new Exchange('bedrock', 1000, undefined);
      const res = new Response(new Uint8Array(16));
      try {
        for await (const d of new BedrockAdapter().readStream(ex, res)) void d;
      } catch (e) {
        out.name = e.name;
        out.message = e.message;
      } finally {
        ex.finish(true);
      }
      `,
    );
    expect(out.name).toBe('ConfigurationError');
    expect(out.message).toContain('npm i @smithy/eventstream-codec');
  }, 90_000);
});
