import { luaScript } from './run-lua.js';

/*
 * Budget state in Redis, per budget and period:
 *   <prefix>:b:<budget id>:<period key>    hash  spent, reserved, r:<reservation id> → micros,
 *                                                 a50 / a80 / a100 (alert sent)
 *   <prefix>:b:<budget id>:<period key>:x  zset  r:<id> scored by the hold's expiry,
 *                                                 d:<id> (settled marker) scored by its expiry
 * Expired holds are purged lazily by whichever script touches the budget next: their micros leave
 * `reserved`. Both keys expire a retention period after the budget period ends.
 * KEYS come in pairs (hash, zset), one pair per budget. All amounts are integer micro-dollars.
 */

const PURGE = `
local function purge(h, z, now)
  local expired = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  for _, member in ipairs(expired) do
    if string.sub(member, 1, 2) == 'r:' then
      local amount = tonumber(redis.call('HGET', h, member))
      if amount then
        redis.call('HINCRBY', h, 'reserved', -amount)
        redis.call('HDEL', h, member)
      end
    end
  end
  if #expired > 0 then redis.call('ZREMRANGEBYSCORE', z, '-inf', now) end
end
`;

/**
 * ARGV: now, reservation id, micros, hold expiry, then per budget: limit, hard (1/0), key expiry.
 * Returns {1} when every budget took the hold, or {0, index, spent, reserved, alert100} for the
 * first hard budget that would be exceeded (no hold is taken anywhere).
 */
export const BUDGET_RESERVE = luaScript(`${PURGE}
local now = tonumber(ARGV[1])
local member = 'r:' .. ARGV[2]
local micros = tonumber(ARGV[3])
local n = #KEYS / 2
for i = 1, n do
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  purge(h, z, now)
  if ARGV[3 + 3 * i] == '1' then
    local spent = tonumber(redis.call('HGET', h, 'spent') or '0')
    local reserved = tonumber(redis.call('HGET', h, 'reserved') or '0')
    if spent + reserved + micros > tonumber(ARGV[2 + 3 * i]) then
      local first = redis.call('HSETNX', h, 'a100', '1')
      redis.call('PEXPIREAT', h, ARGV[4 + 3 * i])
      return {0, i, spent, reserved, first}
    end
  end
end
for i = 1, n do
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  redis.call('HINCRBY', h, 'reserved', micros)
  redis.call('HSET', h, member, micros)
  redis.call('ZADD', z, ARGV[4], member)
  redis.call('PEXPIREAT', h, ARGV[4 + 3 * i])
  redis.call('PEXPIREAT', z, ARGV[4 + 3 * i])
end
return {1}
`);

/**
 * Settle (or release, with actual 0). ARGV: now, reservation id, actual micros, marker expiry,
 * reservation expiry, then per budget: limit, key expiry. A reservation whose hold is gone while it
 * could still hold was settled already: skipped, no marker needed. One settled after its hold
 * lapsed counts once and leaves a marker (`d:<id>`) that skips its repeats while the marker lives.
 * Returns triples {budget index, threshold, spent} for newly reached thresholds.
 */
export const BUDGET_SETTLE = luaScript(`${PURGE}
local now = tonumber(ARGV[1])
local id = ARGV[2]
local actual = tonumber(ARGV[3])
local canHold = tonumber(ARGV[5]) > now
local alerts = {}
for i = 1, #KEYS / 2 do
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  purge(h, z, now)
  local amount = tonumber(redis.call('HGET', h, 'r:' .. id))
  local counts = false
  if amount then
    redis.call('HINCRBY', h, 'reserved', -amount)
    redis.call('HDEL', h, 'r:' .. id)
    redis.call('ZREM', z, 'r:' .. id)
    counts = true
  elseif not canHold and not redis.call('ZSCORE', z, 'd:' .. id) then
    redis.call('ZADD', z, ARGV[4], 'd:' .. id)
    counts = true
  end
  if counts then
    local spent = redis.call('HINCRBY', h, 'spent', actual)
    local limit = tonumber(ARGV[4 + 2 * i])
    if spent > 0 then
      for _, threshold in ipairs({50, 80, 100}) do
        if spent * 100 >= threshold * limit and redis.call('HSETNX', h, 'a' .. threshold, '1') == 1 then
          alerts[#alerts + 1] = i
          alerts[#alerts + 1] = threshold
          alerts[#alerts + 1] = spent
        end
      end
    end
    redis.call('PEXPIREAT', h, ARGV[5 + 2 * i])
    redis.call('PEXPIREAT', z, ARGV[5 + 2 * i])
  end
end
return alerts
`);

/** ARGV: now. Returns {spent, reserved} after purging expired holds. */
export const BUDGET_STATUS = luaScript(`${PURGE}
purge(KEYS[1], KEYS[2], tonumber(ARGV[1]))
return {tonumber(redis.call('HGET', KEYS[1], 'spent') or '0'), tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0')}
`);
