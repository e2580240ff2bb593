/**
 * The Redis store's Lua scripts: one per step, each one atomic round trip (EVALSHA through ioredis
 * `defineCommand`). Time is Redis' own (`TIME`), so workers with skewed clocks agree on every timer.
 *
 * Per key two Redis keys, both under the namespace's hash tag (one Cluster slot):
 * - `{ns}:s:<keyId>` hash: `s` state, `u` until (ms, Redis time), `f` consecutive failures, `ws`/`wr`/`wt` the
 *   current one-minute window's start, requests and tokens, `x` = '1' when a reload retired the key.
 *   A missing hash reads as a fresh ACTIVE key.
 * - `{ns}:l:<keyId>` sorted set of leases: member = fencing token (unique per lease), score = expiry.
 *
 * Every script that reads a key answers with the same row (see {@link ROW_FIELDS}) so the caller refreshes its
 * mirror from any reply.
 */

/** `s, u, f, n (live leases), m (soonest live lease expiry or -1), ws, wr, wt, x (1 = retired, 2 = disabled by an operator)`. */
export const ROW_FIELDS = 9;

const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local WINDOW = 60000

-- x: 1 retired by a reload, 2 disabled by an operator, 0 neither.
local function read(sk)
  local h = redis.call('HMGET', sk, 's', 'u', 'f', 'ws', 'wr', 'wt', 'x', 'd')
  local x = 0
  if h[7] == '1' then x = 1 elseif h[8] == '1' then x = 2 end
  return h[1] or 'ACTIVE', tonumber(h[2]) or 0, tonumber(h[3]) or 0, tonumber(h[4]) or 0, tonumber(h[5]) or 0, tonumber(h[6]) or 0, x
end

-- Live leases, and the soonest expiry among them when \`withMin\` (only maxConcurrent needs it; -1 otherwise).
local function live(lk, withMin)
  local n = redis.call('ZCOUNT', lk, '(' .. now, '+inf')
  local m = -1
  if n > 0 and withMin then
    local first = redis.call('ZRANGEBYSCORE', lk, '(' .. now, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    m = tonumber(first[2])
  end
  return n, m
end

local function benched(st)
  return st == 'COOLDOWN' or st == 'QUARANTINE'
end

local function effective(s, u)
  if benched(s) and u <= now then return 'PROBATION' end
  return s
end
`;

/**
 * The Lua mirror of `transition()` in lib/core/health/transitions.ts (SPEC §4); the shared table in
 * test/support/transition-cases.ts runs against both.
 */
const TRANSITION = `
-- cool() and quarantine() of transitions.ts: keep the worse state and the later deadline.
local function bench(u, eff, deadline, f, quarantine)
  if benched(eff) then
    local nu = math.max(u, deadline)
    if quarantine or eff == 'QUARANTINE' then return 'QUARANTINE', nu, f end
    return 'COOLDOWN', nu, f
  end
  if quarantine then return 'QUARANTINE', deadline, f end
  return 'COOLDOWN', deadline, f
end

-- ra: retry-after ms (0: none); cd: a success's "window spent" cooldown, ms from now (0: none).
local function transition(s, u, f, kind, ra, cd, cms, qms, maxf)
  local eff = effective(s, u)
  if kind == 'success' then
    if cd > 0 then return bench(u, eff, now + cd, 0, false) end
    if benched(eff) then return s, u, 0 end
    if eff == 'ACTIVE' and f == 0 then return s, u, f end
    return 'ACTIVE', 0, 0
  elseif kind == 'rate_limit' then
    local ms = cms
    if ra > 0 then ms = ra end
    return bench(u, eff, now + ms, f, false)
  elseif kind == 'auth' then
    return bench(u, eff, now + qms, f + 1, true)
  elseif kind == 'transient' then
    local nf = f + 1
    if eff == 'PROBATION' or nf >= maxf then return bench(u, eff, now + qms, nf, true) end
    if benched(eff) then return s, u, nf end
    return 'ACTIVE', 0, nf
  end
  -- cancelled, bad_request: not the key's fault
  return s, u, f
end
`;

/**
 * Lease. KEYS: state, leases. ARGV: token, ttlMs, maxConcurrent, rpm, tpm (0 = unlimited).
 * Re-checks availability (timer state, live leases against maxConcurrent, the rpm/tpm window) and takes a
 * fenced lease. Reply: `[code, now, ...row]`, code 1 leased, 0 not available, -1 retired.
 */
export const LEASE_LUA = `${PRELUDE}
local sk, lk = KEYS[1], KEYS[2]
local ttl, maxc, rpm, tpm = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local s, u, f, ws, wr, wt, x = read(sk)
local code = 1
if x == 1 then code = -1 elseif x == 2 or (benched(s) and u > now) then code = 0 end
-- Expired leases go first (an empty set is deleted by Redis), so what is left is live.
redis.call('ZREMRANGEBYSCORE', lk, '-inf', now)
local n = redis.call('ZCARD', lk)
if code == 1 and maxc > 0 and n >= maxc then code = 0 end
local limited = rpm > 0 or tpm > 0
if limited then
  local cur = now - now % WINDOW
  if ws ~= cur then ws = cur; wr = 0; wt = 0 end
  if code == 1 and ((rpm > 0 and wr >= rpm) or (tpm > 0 and wt >= tpm)) then code = 0 end
end
if code == 1 then
  redis.call('ZADD', lk, now + ttl, ARGV[1])
  -- The set lives as long as its longest lease (never shortened by a worker with a shorter TTL).
  if n == 0 or redis.call('PTTL', lk) < ttl then redis.call('PEXPIRE', lk, ttl) end
  n = n + 1
  if limited then
    wr = wr + 1
    redis.call('HSET', sk, 'ws', ws, 'wr', wr, 'wt', wt)
  end
end
local m = -1
if n > 0 and maxc > 0 then m = tonumber(redis.call('ZRANGE', lk, 0, 0, 'WITHSCORES')[2]) end
return {code, now, s, u, f, n, m, ws, wr, wt, x}
`;

/**
 * Report (+ release). KEYS: state, leases. ARGV: token, kind, retryAfterMs, cooldownInMs, tokens, cooldownMs,
 * quarantineMs, maxConsecutiveFailures, tpm, maxConcurrent. Applies the transition, counts tokens, frees the lease by its
 * token (a stale token frees nothing). Reply: `[now, ...row]`.
 */
export const REPORT_LUA = `${PRELUDE}${TRANSITION}
local sk, lk = KEYS[1], KEYS[2]
local s, u, f, ws, wr, wt, x = read(sk)
if x == 0 then
  local ns, nu, nf = transition(s, u, f, ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]))
  if ns ~= s or nu ~= u or nf ~= f then
    redis.call('HSET', sk, 's', ns, 'u', nu, 'f', nf)
    s, u, f = ns, nu, nf
  end
  local tokens, tpm = tonumber(ARGV[5]), tonumber(ARGV[9])
  if tokens > 0 and tpm > 0 then
    local cur = now - now % WINDOW
    if ws ~= cur then ws = cur; wr = 0; wt = 0 end
    wt = wt + tokens
    redis.call('HSET', sk, 'ws', ws, 'wr', wr, 'wt', wt)
  end
end
redis.call('ZREM', lk, ARGV[1])
local n, m = live(lk, tonumber(ARGV[10]) > 0)
return {now, s, u, f, n, m, ws, wr, wt, x}
`;

/**
 * Release. KEYS: state, leases. ARGV: token, maxConcurrent. Frees the lease by its token only.
 * Reply: `[now, ...row]`.
 */
export const RELEASE_LUA = `${PRELUDE}
redis.call('ZREM', KEYS[2], ARGV[1])
local s, u, f, ws, wr, wt, x = read(KEYS[1])
local n, m = live(KEYS[2], tonumber(ARGV[2]) > 0)
return {now, s, u, f, n, m, ws, wr, wt, x}
`;

/**
 * Sync: registers, retires, merges and reads many keys in one step (start-up, reload, resynchronisation after an
 * outage, snapshot). KEYS: state/leases pairs. ARGV: five per key:
 * - mode: `n` new to this worker (a retired key is revived as fresh ACTIVE; a missing one registered),
 *   `k` keep (register when missing, never revive), `r` retire (other workers stop leasing it), `p` peek (read only);
 * - merge state (`COOLDOWN`/`QUARANTINE` learnt locally while Redis was away, or ''), its until as ms from now,
 *   its consecutive failures: merged pessimistically (worse state, later deadline, more failures);
 * - space-separated lease tokens to free (leases settled while Redis was away).
 * Reply: `[now, ...row per key]`.
 */
export const SYNC_LUA = `${PRELUDE}
local out = {now}
for i = 1, #KEYS / 2 do
  local sk, lk = KEYS[2 * i - 1], KEYS[2 * i]
  local b = (i - 1) * 5
  local mode = ARGV[b + 1]
  if mode == 'r' then
    redis.call('HSET', sk, 'x', '1')
  elseif mode == 'n' or mode == 'k' then
    if mode == 'n' and redis.call('HGET', sk, 'x') == '1' then redis.call('DEL', sk) end
    if redis.call('EXISTS', sk) == 0 then redis.call('HSET', sk, 's', 'ACTIVE', 'u', 0, 'f', 0) end
    local ms = ARGV[b + 2]
    if ms ~= '' or tonumber(ARGV[b + 4]) > 0 then
      local s, u, f, ws, wr, wt, x = read(sk)
      if x == 0 then
        local eff = effective(s, u)
        local mu = now + tonumber(ARGV[b + 3])
        local ns, nu = s, u
        if benched(ms) and mu > now then
          if benched(eff) then
            nu = math.max(u, mu)
            if eff == 'QUARANTINE' or ms == 'QUARANTINE' then ns = 'QUARANTINE' else ns = 'COOLDOWN' end
          else
            ns, nu = ms, mu
          end
        end
        redis.call('HSET', sk, 's', ns, 'u', nu, 'f', math.max(f, tonumber(ARGV[b + 4])))
      end
    end
  end
  if mode ~= 'p' then
    for tok in string.gmatch(ARGV[b + 5], '%S+') do redis.call('ZREM', lk, tok) end
    redis.call('ZREMRANGEBYSCORE', lk, '-inf', now)
  end
  local s, u, f, ws, wr, wt, x = read(sk)
  local n, m = live(lk, true)
  out[#out + 1] = s
  out[#out + 1] = u
  out[#out + 1] = f
  out[#out + 1] = n
  out[#out + 1] = m
  out[#out + 1] = ws
  out[#out + 1] = wr
  out[#out + 1] = wt
  out[#out + 1] = x
end
return out
`;

/**
 * An operator's action on one key (see \`StateStore.override\`). KEYS: state, leases. ARGV: \`disable\` | \`enable\` | \`reset\`.
 * Reply: \`[now, ...row]\`.
 */
export const OVERRIDE_LUA = `${PRELUDE}
local sk, lk, a = KEYS[1], KEYS[2], ARGV[1]
if a == 'disable' then
  redis.call('HSET', sk, 'd', '1')
elseif a == 'enable' then
  if redis.call('HGET', sk, 'd') == '1' then
    redis.call('HDEL', sk, 'd')
    redis.call('HSET', sk, 's', 'ACTIVE', 'u', 0, 'f', 0)
  end
else
  redis.call('HSET', sk, 's', 'ACTIVE', 'u', 0, 'f', 0)
end
local s, u, f, ws, wr, wt, x = read(sk)
local n, m = live(lk, true)
return {now, s, u, f, n, m, ws, wr, wt, x}
`;

/** A row as ioredis returns it (strings for bulk replies, numbers for integers). */
export type ScriptReply = Array<string | number>;

type ScriptFn = (...args: Array<string | number>) => Promise<ScriptReply>;

/** The commands {@link defineScripts} adds to a client (names are prefixed so they never clash with a user's). */
export interface ScriptCommands {
  llmrotateLease: ScriptFn;
  llmrotateReport: ScriptFn;
  llmrotateRelease: ScriptFn;
  llmrotateSync: ScriptFn;
  llmrotateOverride: ScriptFn;
}

/** The bit of an ioredis `Redis`/`Cluster` this needs. */
export interface ScriptHost {
  defineCommand(name: string, definition: { lua: string; numberOfKeys?: number }): void;
}

/**
 * Registers the scripts once on a client: ioredis sends EVAL the first time per connection and EVALSHA after
 * (and re-sends on NOSCRIPT, e.g. after a Redis restart), one round trip either way.
 */
export function defineScripts(client: ScriptHost): ScriptCommands {
  client.defineCommand('llmrotateLease', { lua: LEASE_LUA, numberOfKeys: 2 });
  client.defineCommand('llmrotateReport', { lua: REPORT_LUA, numberOfKeys: 2 });
  client.defineCommand('llmrotateRelease', { lua: RELEASE_LUA, numberOfKeys: 2 });
  client.defineCommand('llmrotateOverride', { lua: OVERRIDE_LUA, numberOfKeys: 2 });
  // Variable key count: the caller passes it first.
  client.defineCommand('llmrotateSync', { lua: SYNC_LUA });
  return client as unknown as ScriptCommands;
}
