import { luaScript } from './run-lua.js';

/*
 * The Redis side of gcra.ts, the same arithmetic step for step. Times are milliseconds; by default
 * "now" is the Redis server's clock (TIME), so every gateway instance measures against one clock and
 * host clock skew cannot shift a bucket. TATs are stored as text with 4 decimals and expire once
 * the bucket is full again (plus a second), so idle scopes leave nothing behind.
 */

const NOW = `
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
else
  now = tonumber(ARGV[1])
end
local period = tonumber(ARGV[2])
`;

/**
 * KEYS: one bucket per limited dimension. ARGV: now ('' = server clock), period, then per key its
 * limit and cost. Returns 4 integers per key: status (0 allowed, 1 refused, 2 too large), wait ms,
 * remaining, reset ms. Charges every key, or none when any refuses.
 */
export const RATE_CHECK = luaScript(`${NOW}
local out = {}
local newtats = {}
local all = true
for i = 1, #KEYS do
  local limit = tonumber(ARGV[1 + 2 * i])
  local cost = tonumber(ARGV[2 + 2 * i])
  local interval = period / limit
  local tat = tonumber(redis.call('GET', KEYS[i]) or '')
  if tat == nil or tat < now then tat = now end
  local newtat = tat + cost * interval
  local status, wait, level = 0, 0, newtat
  if cost * interval > period then
    status, level = 2, tat
  elseif newtat - period > now then
    status, wait, level = 1, math.ceil(newtat - period - now), tat
  end
  if status ~= 0 then all = false end
  newtats[i] = newtat
  local used = level - now
  local remaining = math.floor((period - used) / interval + 1e-9)
  if remaining < 0 then remaining = 0 end
  if remaining > limit then remaining = math.floor(limit) end
  local reset = math.ceil(used)
  if reset < 0 then reset = 0 end
  out[#out + 1] = status
  out[#out + 1] = wait
  out[#out + 1] = remaining
  out[#out + 1] = reset
end
if all then
  for i = 1, #KEYS do
    redis.call('SET', KEYS[i], string.format('%.4f', newtats[i]), 'PX', math.ceil(newtats[i] - now) + 1000)
  end
end
return out
`);

/**
 * KEYS: token buckets. ARGV: now, period, then per key its limit and the correction in tokens
 * (negative refunds). A bucket refunded past full is deleted.
 */
export const RATE_ADJUST = luaScript(`${NOW}
for i = 1, #KEYS do
  local limit = tonumber(ARGV[1 + 2 * i])
  local delta = tonumber(ARGV[2 + 2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '')
  if tat == nil or tat < now then tat = now end
  local nexttat = tat + delta * period / limit
  if nexttat <= now then
    redis.call('DEL', KEYS[i])
  else
    redis.call('SET', KEYS[i], string.format('%.4f', nexttat), 'PX', math.ceil(nexttat - now) + 1000)
  end
end
return 1
`);
