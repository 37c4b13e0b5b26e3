-- wrk script for bench/attack.js: many attacker addresses against the edge.
-- Each address sends a burst of BURST requests in a row, then the next
-- address takes over; the kinds cycle through MIX: failed logins (a random
-- account, a wrong password), wrong admin keys and forged session cookies
-- (a new token each time, so each one is a warning). Addresses: V4 IPv4
-- addresses (198.18.0.0/15) and V6_PREFIXES /48s of V6_PER /64s each
-- (2001:db8:<p>::/48), taking turns. Thread t of T takes every T-th burst. The kinds
-- sent and the statuses received are printed as one JSON line
-- ("ATTACK {...}") at the end.
local v4 = tonumber(os.getenv("V4") or "1000")
local v6_prefixes = tonumber(os.getenv("V6_PREFIXES") or "4")
local v6_per = tonumber(os.getenv("V6_PER") or "250")
local burst = tonumber(os.getenv("BURST") or "4")
local mix = os.getenv("MIX") or "login,forged,login,admin"
-- How many accounts the failed logins spread over (credential stuffing).
local accounts = tonumber(os.getenv("ACCOUNTS") or "1000000")

local kinds = {}
for k in string.gmatch(mix, "[^,]+") do kinds[#kinds + 1] = k end

local threads = {}
local count = 0
function setup(thread)
  count = count + 1
  thread:set("tid", count - 1)
  table.insert(threads, thread)
end

-- IPv4 and IPv6 addresses take turns (burst 0: the first IPv4 address,
-- burst 1: the first IPv6 /64, ...), so both families attack from the start.
local function address(i)
  local k = math.floor(i / 2)
  if i % 2 == 0 or v6_prefixes * v6_per == 0 then
    k = k % v4
    return string.format("198.%d.%d.%d", 18 + math.floor(k / 65536), math.floor(k / 256) % 256, k % 256)
  end
  local j = k % (v6_prefixes * v6_per)
  local p = math.floor(j / v6_per) % v6_prefixes
  return string.format("2001:db8:%x:%x::1", p + 1, j % v6_per + 1)
end

local total = v4 + v6_prefixes * v6_per
local n = 0
local nthreads = 1
sent = {}
statuses = {}

function init(args)
  nthreads = tonumber(os.getenv("THREADS") or "1")
  math.randomseed(os.time() + tid * 7919)
end

local function token()
  local t = {}
  for i = 1, 24 do t[i] = string.char(97 + math.random(0, 25)) end
  return table.concat(t)
end

function request()
  local b = math.floor(n / burst)
  local kind = kinds[(n % #kinds) + 1]
  local ip = address((tid + nthreads * b) % total)
  n = n + 1
  sent[kind] = (sent[kind] or 0) + 1
  local headers = { ["CF-Connecting-IP"] = ip }
  if kind == "login" then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return wrk.format("POST", "/login", headers, "username=u" .. math.random(1, accounts) .. "&password=wrong-" .. n)
  elseif kind == "admin" then
    headers["Authorization"] = "Bearer wrong-key-" .. n
    return wrk.format("GET", "/__portcullis/admin/settings", headers)
  else
    headers["Cookie"] = "__Host-portcullis-session=" .. token() .. "." .. token() .. "." .. token()
    headers["Accept"] = "application/json"
    return wrk.format("GET", "/app/x", headers)
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local s, st = {}, {}
  for _, thread in ipairs(threads) do
    for k, v in pairs(thread:get("sent")) do s[k] = (s[k] or 0) + v end
    for k, v in pairs(thread:get("statuses")) do st[tostring(k)] = (st[tostring(k)] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(s) do parts[#parts + 1] = string.format('"%s":%d', k, v) end
  local sparts = {}
  for k, v in pairs(st) do sparts[#sparts + 1] = string.format('"%s":%d', k, v) end
  io.write(string.format('ATTACK {"sent":{%s},"statuses":{%s}}\n', table.concat(parts, ","), table.concat(sparts, ",")))
end
