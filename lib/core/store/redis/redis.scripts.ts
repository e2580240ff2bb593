/**
 * The Redis store's Lua scripts (EVALSHA through ioredis `defineCommand`). Time is Redis' own (`TIME`), so workers
 * with skewed clocks agree on every timer.
 *
 * Per key two Redis keys, both under the namespace's hash tag (one Cluster slot):
 * - `{ns}:s:<keyId>` hash: `s` state, `u` until (ms, Redis time), `f` consecutive failures, `ws`/`wr`/`wt` the
 *   current one-minute window's start, requests and tokens, `x` = '1' when a reload retired the key, `d` = '1' when
 *   an operator disabled it, `le` until when the lease set lives at least. A missing hash reads as a fresh ACTIVE key.
 * - `{ns}:l:<keyId>` sorted set of leases: member = fencing token (unique per lease), score = expiry.
 *
 * Two scripts:
 * - BATCH carries the hot path: any number of lease / report / release / override operations of one worker, on
 *   any keys, applied in order in one atomic step (one round trip for all the calls of one tick).
 * - SYNC registers, retires, merges and reads many keys (start-up, reload, resync after an outage, snapshot).
 *
 * Both answer every key they touch with the same row (see {@link ROW_FIELDS}), so the caller refreshes its mirror.
 *
 * Robust to whatever is stored: a Redis key of the wrong type (a string where the hash belongs, a hash where the
 * lease set belongs) is deleted and the key starts afresh (the row says so); any other error on one key is reported
 * in that key's row and the other keys of the step go on. Numbers read from Redis or from the caller are clamped
 * (never NaN, negative or past 2^53, a deadline never past now + maxBenchMs), so no reply overflows an integer.
 */

/**
 * A key's row, one string of space-separated fields: `s u f n m ws wr wt x flag` — n: live leases (-1 when the step
 * did not count them), m: soonest live lease expiry (-1: none or not looked up), x: 1 retired, 2 disabled by an
 * operator, flag: 0 ok, 1 repaired (a Redis key of the wrong type was reset), 2 unusable, followed by `|<error>`.
 */
export const ROW_FIELDS = 10;

/** Settings sent once per key in a BATCH: maxConcurrent, rpm, tpm, cooldownMs, quarantineMs, maxConsecutiveFailures, maxBenchMs. */
export const KEY_ARGS = 7;
/** ARGV per key in SYNC: mode, merge state, merge until (ms from now), merge failures, tokens to free, maxBenchMs. */
export const SYNC_ARGS = 6;

/** Operation codes in a BATCH reply (one digit each): done (a lease: leased), refused, the key is retired. */
export const DONE = 1;
export const REFUSED = 0;
export const RETIRED = 2;
/** The key's Redis data could not be read or written (see its row's msg): the operation was not done. */
export const KEY_ERROR = 3;

const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local WINDOW = 60000
local MAXN = 9007199254740991
local DEFAULT_MAXB = 3600000
-- No wait longer than ~126 years: now + MAXB stays an exact integer (and a valid JavaScript date).
local MAXB = 4000000000000000
local STATES = {ACTIVE = true, COOLDOWN = true, QUARANTINE = true, PROBATION = true}

-- Any value as an integer in [0, hi]: missing, NaN, negative or not a number read as 0, too big as hi.
local function int(v, hi)
  local x = tonumber(v)
  if x == nil or x ~= x or x <= 0 then return 0 end
  if x > hi then return hi end
  return math.floor(x)
end

local function wrongtype(r)
  return type(r) == 'table' and r.err ~= nil and string.find(r.err, 'WRONGTYPE', 1, true) ~= nil
end

-- A call on one key's data: a Redis key of the wrong type is deleted and the call made again (flag 1: the key
-- starts afresh rather than poisoning every step); any other error marks the key (flag 2) and returns nil.
local function try(k, rk, ...)
  local r = redis.pcall(...)
  if wrongtype(r) then
    redis.call('DEL', rk)
    k.flag = 1
    r = redis.pcall(...)
  end
  if type(r) == 'table' and r.err ~= nil then
    k.flag = 2
    k.msg = r.err
    return nil
  end
  return r
end

-- A key's hash: k.s, k.u (capped at now + maxBenchMs), k.f, the window, k.ret / k.d, k.le (the lease set is kept
-- until then at least). Every field a step may set is in the constructor (no table growth on the hot path).
local function key(sk, lk, maxb)
  maxb = int(maxb, MAXB)
  if maxb == 0 then maxb = DEFAULT_MAXB end
  local k = {sk = sk, lk = lk, flag = 0, msg = '', maxb = maxb, s = 'ACTIVE', u = 0, f = 0, ws = 0, wr = 0, wt = 0,
    ret = false, d = false, le = 0, n = -1, m = -1, maxc = 0, rpm = 0, tpm = 0, cms = 0, qms = 0, maxf = 0, ttl = 0,
    hd = false, wd = false, ld = false, mdirty = false, add = false, rem = false, ucut = false}
  local h = try(k, sk, 'HMGET', sk, 's', 'u', 'f', 'ws', 'wr', 'wt', 'x', 'd', 'le')
  if h == nil then return k end
  if h[1] and STATES[h[1]] then k.s = h[1] end
  if h[2] then
    k.u = int(h[2], now + maxb)
    -- A stored deadline beyond the cap (written by anything else): the next report writes the capped one back.
    k.ucut = k.u == now + maxb and tonumber(h[2]) ~= k.u
  end
  if h[3] then k.f = int(h[3], 1000000000) end
  if h[4] then
    k.ws = int(h[4], MAXN)
    k.wr = int(h[5], MAXN)
    k.wt = int(h[6], MAXN)
  end
  k.ret = h[7] == '1'
  k.d = h[8] == '1'
  if h[9] then k.le = int(h[9], MAXN) end
  return k
end

-- Drops expired leases, then counts the live ones (k.n) and finds the soonest expiry among them (k.m, -1: none).
local function count(k)
  if try(k, k.lk, 'ZREMRANGEBYSCORE', k.lk, '-inf', now) == nil then return end
  k.n = redis.call('ZCARD', k.lk)
  k.m = -1
  if k.n > 0 then
    local first = redis.call('ZRANGE', k.lk, 0, 0, 'WITHSCORES')
    if first[2] then k.m = int(first[2], MAXN) end
  end
end

local function benched(st)
  return st == 'COOLDOWN' or st == 'QUARANTINE'
end

local function effective(s, u)
  if benched(s) and u <= now then return 'PROBATION' end
  return s
end

-- The key's row, one string: "s u f n m ws wr wt x flag", then "|msg" when flag is 2 (n and m are -1 when this
-- step did not count the leases). Numbers are formatted whole (tostring would round past 14 digits).
local function row(k)
  if k.flag == 2 then return 'ACTIVE 0 0 -1 -1 0 0 0 0 2|' .. k.msg end
  local x = 0
  if k.ret then x = 1 elseif k.d then x = 2 end
  return string.format('%s %.0f %.0f %.0f %.0f %.0f %.0f %.0f %d %d', k.s, k.u, k.f, k.n, k.m, k.ws, k.wr, k.wt, x, k.flag)
end
`;

/**
 * The Lua mirror of `transition()` in lib/core/health/transitions.ts (SPEC §4); the shared table in
 * test/support/transition-cases.ts runs against both. Every wait is capped at the key's maxBenchMs.
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

-- ra: retry-after ms (0: none); cd: a success's "window spent" cooldown, ms from now (0: none); both already capped.
local function transition(k, kind, ra, cd)
  local s, u, f = k.s, k.u, k.f
  local eff = effective(s, u)
  if kind == 'success' then
    if cd > 0 then return bench(u, eff, now + cd, 0, false) end
    if benched(eff) then return s, u, 0 end
    if eff == 'ACTIVE' and f == 0 then return s, u, f end
    return 'ACTIVE', 0, 0
  elseif kind == 'rate_limit' then
    local ms = k.cms
    if ra > 0 then ms = ra end
    return bench(u, eff, now + ms, f, false)
  elseif kind == 'auth' then
    return bench(u, eff, now + k.qms, f + 1, true)
  elseif kind == 'transient' then
    local nf = f + 1
    if eff == 'PROBATION' or nf >= k.maxf then return bench(u, eff, now + k.qms, nf, true) end
    if benched(eff) then return s, u, nf end
    return 'ACTIVE', 0, nf
  end
  -- cancelled, bad_request: not the key's fault
  return s, u, f
end
`;

/**
 * One worker's operations of one tick, in order, in one atomic step.
 * KEYS: state/leases pairs, one per distinct key. ARGV[1]: {@link KEY_ARGS} numbers per key, space-separated
 * (maxConcurrent, rpm, tpm, cooldownMs, quarantineMs, maxConsecutiveFailures, maxBenchMs). ARGV[2]: the operations,
 * one per line, always seven fields (`-` where unused): `l <key#> <token> <ttlMs> - - -` lease, `r <key#> <token>
 * <kind> <retryAfterMs> <cooldownInMs> <tokens>` report + release, `x <key#> <token> - - - -` release,
 * `o <key#> <action> - - - -` operator override.
 * A lease re-checks availability (timer state, live leases against maxConcurrent, the rpm/tpm window); a report
 * applies the transition, counts tokens and frees its lease; releases and reports free only their own token.
 * Reply: `[now, codes, row per key…]`: codes has one digit per operation (1 done/leased, 0 refused, 2 retired,
 * 3 that key's data is unusable), each row is {@link ROW_FIELDS} fields in one string.
 *
 * Cost: per key one HMGET and the writes it needs (one HSET, one ZADD for all its leases, one ZREM for all its
 * freed tokens); keys with maxConcurrent also count their live leases (ZCOUNT), and when one is full, the tokens
 * freed earlier in the step are removed and the live leases counted again before a lease is refused (fencing: a
 * stale token frees nothing). The lease set's TTL is renewed, and its expired leases dropped, at most once per TTL
 * (the hash's `le` says until when it lives at least), and by SYNC.
 */
export const BATCH_LUA = `${PRELUDE}${TRANSITION}
local nk = #KEYS / 2
local K = {}
local v = {}
for w in string.gmatch(ARGV[1] or '', '%S+') do v[#v + 1] = tonumber(w) or 0 end
for i = 1, nk do
  -- Settings come from this library's validated configuration (waits already capped at maxBenchMs).
  local b = (i - 1) * ${KEY_ARGS}
  local k = key(KEYS[2 * i - 1], KEYS[2 * i], v[b + 7])
  k.maxc = v[b + 1] or 0
  k.rpm = v[b + 2] or 0
  k.tpm = v[b + 3] or 0
  k.cms = math.min(v[b + 4] or 0, k.maxb)
  k.qms = math.min(v[b + 5] or 0, k.maxb)
  k.maxf = v[b + 6] or 1
  if k.flag ~= 2 and k.maxc > 0 then
    local n = try(k, k.lk, 'ZCOUNT', k.lk, '(' .. now, '+inf')
    if n ~= nil then k.n = n end
  end
  K[i] = k
end

local function roll(k)
  local cur = now - now % WINDOW
  if k.ws ~= cur then
    k.ws = cur
    k.wr = 0
    k.wt = 0
  end
end

-- Removes the tokens freed so far in this step. With maxConcurrent, the live leases are counted again (plus
-- those taken in this step, added at the end): a token that had expired frees no slot.
local function settle(k)
  if not k.rem then return true end
  local r = try(k, k.lk, 'ZREM', k.lk, unpack(k.rem))
  k.rem = false
  if r == nil then return false end
  if k.maxc > 0 then
    local n = try(k, k.lk, 'ZCOUNT', k.lk, '(' .. now, '+inf')
    if n == nil then return false end
    k.n = n
    if k.add then k.n = n + #k.add / 2 end
  end
  return true
end

local function lease(k, tok, ttl)
  if k.ret then return 2 end
  if k.d or (benched(k.s) and k.u > now) then return 0 end
  if k.maxc > 0 and k.n >= k.maxc then
    if not settle(k) then return 3 end
    if k.n >= k.maxc then return 0 end
  end
  local limited = k.rpm > 0 or k.tpm > 0
  if limited then
    roll(k)
    if (k.rpm > 0 and k.wr >= k.rpm) or (k.tpm > 0 and k.wt >= k.tpm) then return 0 end
  end
  local a = k.add
  if not a then
    a = {}
    k.add = a
  end
  a[#a + 1] = now + ttl
  a[#a + 1] = tok
  if k.maxc > 0 then k.n = k.n + 1 end
  if ttl > k.ttl then k.ttl = ttl end
  if limited then
    k.wr = k.wr + 1
    k.wd = true
  end
  return 1
end

-- Frees a token (at the end of the step, or before a lease needs the slot).
local function free(k, tok)
  local r = k.rem
  if not r then
    r = {}
    k.rem = r
  end
  r[#r + 1] = tok
  return 1
end

local function report(k, tok, kind, ra, cd, tokens)
  free(k, tok)
  if k.ret or k.d then return 1 end
  -- The common case first: a plain success on a healthy key changes nothing.
  if kind == 'success' and cd == '0' and k.s == 'ACTIVE' and k.f == 0 and (k.tpm == 0 or tokens == '0') then return 1 end
  local ns, nu, nf = transition(k, kind, int(ra, k.maxb), int(cd, k.maxb))
  if ns ~= k.s or nu ~= k.u or nf ~= k.f or k.ucut then
    k.s, k.u, k.f = ns, nu, nf
    k.hd = true
  end
  tokens = int(tokens, MAXN)
  if tokens > 0 and k.tpm > 0 then
    roll(k)
    k.wt = k.wt + tokens
    k.wd = true
  end
  return 1
end

local function override(k, a)
  if a == 'disable' then
    if try(k, k.sk, 'HSET', k.sk, 'd', '1') == nil then return 3 end
    k.d = true
  elseif a == 'enable' then
    if k.d then
      if try(k, k.sk, 'HDEL', k.sk, 'd') == nil then return 3 end
      k.d = false
      k.s, k.u, k.f = 'ACTIVE', 0, 0
      k.hd = true
    end
  else
    k.s, k.u, k.f = 'ACTIVE', 0, 0
    k.hd = true
  end
  return 1
end

local codes = {}
for op, ki, tok, a, b, c, d in string.gmatch(ARGV[2] or '', '(%a) (%d+) (%S+) (%S+) (%S+) (%S+) (%S+)') do
  local k = K[tonumber(ki)]
  local code = 3
  if k ~= nil and k.flag ~= 2 then
    if op == 'l' then code = lease(k, tok, int(a, MAXN))
    elseif op == 'r' then code = report(k, tok, a, b, c, d)
    elseif op == 'x' then code = free(k, tok)
    elseif op == 'o' then code = override(k, tok)
    end
    -- A write that failed marks the key: what it did in this step is answered as not done.
    if k.flag == 2 then code = 3 end
  end
  codes[#codes + 1] = code
end

local out = {now, table.concat(codes)}
for i = 1, nk do
  local k = K[i]
  if k.flag ~= 2 and k.rem then
    local r = try(k, k.lk, 'ZREM', k.lk, unpack(k.rem))
    if r ~= nil and k.maxc > 0 then k.n = math.max(0, k.n - r) end
  end
  -- (A ZADD that fails marks the key, flag 2: the caller then takes those leases locally.)
  if k.flag ~= 2 and k.add and try(k, k.lk, 'ZADD', k.lk, unpack(k.add)) ~= nil and k.le < now + k.ttl then
    -- The set outlives its longest lease: its TTL is renewed to 2 × ttl when less than ttl is left (never
    -- shortened: k.le, kept in the hash, is when the set expires at the earliest); expired leases go then too.
    redis.call('ZREMRANGEBYSCORE', k.lk, '-inf', now)
    redis.call('PEXPIRE', k.lk, 2 * k.ttl)
    k.le = now + 2 * k.ttl
    k.ld = true
  end
  if k.flag ~= 2 and (k.hd or k.wd or k.ld) then
    local a = {}
    if k.hd then a = {'s', k.s, 'u', k.u, 'f', k.f} end
    if k.wd then
      a[#a + 1] = 'ws'; a[#a + 1] = k.ws; a[#a + 1] = 'wr'; a[#a + 1] = k.wr; a[#a + 1] = 'wt'; a[#a + 1] = k.wt
    end
    if k.ld then
      a[#a + 1] = 'le'; a[#a + 1] = k.le
    end
    try(k, k.sk, 'HSET', k.sk, unpack(a))
  end
  -- The soonest expiry matters to a waiting caller only when the key is full.
  if k.flag ~= 2 and k.maxc > 0 and k.n >= k.maxc then
    local first = redis.call('ZRANGEBYSCORE', k.lk, '(' .. now, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    if first[2] then k.m = int(first[2], MAXN) end
  end
  out[#out + 1] = row(k)
end
return out
`;

/**
 * Sync: registers, retires, merges and reads many keys in one step (start-up, reload, resynchronisation after an
 * outage, snapshot). KEYS: state/leases pairs. ARGV: {@link SYNC_ARGS} per key:
 * - mode: `n` new to this worker (a retired key is revived as fresh ACTIVE; a missing one registered),
 *   `k` keep (register when missing, never revive), `r` retire (other workers stop leasing it), `p` peek (read only);
 * - merge state (`COOLDOWN`/`QUARANTINE` learnt locally while Redis was away, or ''), its until as ms from now,
 *   its consecutive failures: merged pessimistically (worse state, later deadline, more failures);
 * - space-separated lease tokens to free (leases settled while Redis was away);
 * - the key's maxBenchMs (caps every deadline).
 * Reply: `[now, row per key…]` (rows as in BATCH).
 */
export const SYNC_LUA = `${PRELUDE}
local out = {now}
for i = 1, #KEYS / 2 do
  local sk, lk = KEYS[2 * i - 1], KEYS[2 * i]
  local b = (i - 1) * ${SYNC_ARGS}
  local mode = ARGV[b + 1]
  local maxb = int(ARGV[b + 6], MAXN)
  local k = key(sk, lk, maxb)
  if k.flag ~= 2 and mode ~= 'p' then
    if mode == 'r' then
      if try(k, sk, 'HSET', sk, 'x', '1') then k.ret = true end
    else
      if mode == 'n' and k.ret then
        redis.call('DEL', sk)
        k = key(sk, lk, maxb)
      end
      if k.flag ~= 2 and redis.call('EXISTS', sk) == 0 then try(k, sk, 'HSET', sk, 's', 'ACTIVE', 'u', 0, 'f', 0) end
      local ms = ARGV[b + 2]
      local mf = int(ARGV[b + 4], 1000000000)
      if k.flag ~= 2 and not k.ret and not k.d and (benched(ms) or mf > 0) then
        local eff = effective(k.s, k.u)
        local mu = now + int(ARGV[b + 3], k.maxb)
        if benched(ms) and mu > now then
          if benched(eff) then
            k.u = math.max(k.u, mu)
            if eff == 'QUARANTINE' or ms == 'QUARANTINE' then k.s = 'QUARANTINE' else k.s = 'COOLDOWN' end
          else
            k.s, k.u = ms, mu
          end
        end
        k.f = math.max(k.f, mf)
        try(k, sk, 'HSET', sk, 's', k.s, 'u', k.u, 'f', k.f)
      end
    end
    if k.flag ~= 2 then
      local toks = {}
      for tok in string.gmatch(ARGV[b + 5], '%S+') do toks[#toks + 1] = tok end
      if #toks > 0 then try(k, lk, 'ZREM', lk, unpack(toks)) end
    end
  end
  if k.flag ~= 2 then count(k) end
  out[#out + 1] = row(k)
end
return out
`;

/** A reply as ioredis returns it (strings for bulk replies, numbers for integers). */
export type ScriptReply = Array<string | number>;

type ScriptFn = (...args: Array<string | number>) => Promise<ScriptReply>;

/** The commands {@link defineScripts} adds to a client (names are prefixed so they never clash with a user's). */
export interface ScriptCommands {
  llmrotateBatch: ScriptFn;
  llmrotateSync: ScriptFn;
}

/** The bit of an ioredis `Redis`/`Cluster` this needs. */
export interface ScriptHost {
  defineCommand(name: string, definition: { lua: string; numberOfKeys?: number }): void;
}

/**
 * Registers the scripts once on a client: ioredis sends EVAL the first time per connection and EVALSHA after
 * (and re-sends on NOSCRIPT, e.g. after a Redis restart), one round trip either way. Both take a variable number
 * of keys: the caller passes the count first.
 */
export function defineScripts(client: ScriptHost): ScriptCommands {
  client.defineCommand('llmrotateBatch', { lua: BATCH_LUA });
  client.defineCommand('llmrotateSync', { lua: SYNC_LUA });
  return client as unknown as ScriptCommands;
}
