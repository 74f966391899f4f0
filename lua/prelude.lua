-- SPDX-License-Identifier: MIT
-- prelude.lua: the Lua half of the `mre` module, embedded in the binary and
-- run once in every policy state before the policy, with the real globals
-- (trusted). It adds helpers to `mre`, which the sandbox then freezes. It
-- must never hand a policy a table it did not create for it, and must not
-- keep state between calls. Errors point at the caller (level 2).

local mre = mre
local type, pairs, ipairs, select, error, tostring = type, pairs, ipairs, select, error, tostring
local format, gsub = string.format, string.gsub
local floor = math.floor
local c_log = mre.log

-- mre.log(level, fmt, ...): string.format applies when arguments follow.
function mre.log(level, fmt, ...)
  if select("#", ...) > 0 then
    fmt = format(fmt, ...)
  end
  return c_log(level, fmt)
end

-- Numbers -----------------------------------------------------------------

function mre.clamp(x, lo, hi)
  if type(x) ~= "number" or type(lo) ~= "number" or type(hi) ~= "number" then
    error("mre.clamp(x, lo, hi) takes three numbers", 2)
  end
  if lo > hi then
    error("mre.clamp: lo (" .. lo .. ") is above hi (" .. hi .. ")", 2)
  end
  if x < lo then return lo end
  if x > hi then return hi end
  return x
end

-- Largest power of two <= x (x >= 1), as an integer.
function mre.pow2_floor(x)
  if type(x) ~= "number" or x < 1 then
    error("mre.pow2_floor(x) takes a number >= 1", 2)
  end
  local p = 1
  while p * 2 <= x do p = p * 2 end
  return p
end

-- Headers -----------------------------------------------------------------

mre.header = {}

-- A mrengine header carrying `data` (a table of strings, numbers, booleans
-- and nested tables) as JSON metadata.
function mre.header.json(data)
  if type(data) ~= "table" then
    error("mre.header.json(data) takes a table", 2)
  end
  return { format = "json", data = data }
end

-- A libvirt save-image header ("LibvirtQemudSave", version 2) carrying the
-- domain XML.
function mre.header.libvirt(xml)
  if type(xml) ~= "string" or xml == "" then
    error("mre.header.libvirt(xml) takes the domain XML as a non-empty string", 2)
  end
  return { format = "libvirt", xml = xml }
end

-- Bytes written verbatim before the stream.
function mre.header.raw(bytes)
  if type(bytes) ~= "string" or bytes == "" then
    error("mre.header.raw(bytes) takes a non-empty string", 2)
  end
  return { format = "raw", data = bytes }
end

local xml_esc = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&apos;" }

function mre.xml_escape(s)
  if type(s) ~= "string" then
    error("mre.xml_escape(s) takes a string", 2)
  end
  return (gsub(s, "[&<>\"']", xml_esc))
end

-- Client parameters ----------------------------------------------------------

-- Which plan field each client parameter decides (mrengine's own x-
-- parameters included: the CLI flags --io, --no-sync, --no-verify, ...).
local param_field = {
  ["multifd-channels"] = "channels",
  ["direct-io"] = "direct_io",
  ["max-bandwidth"] = "max_bandwidth",
  ["x-io"] = "io",
  ["x-sync"] = "sync",
  ["x-verify"] = "verify",
  ["x-compression"] = "compression",
  ["x-chunk-size"] = "chunk_size",
  ["x-checksum"] = "checksum",
  ["x-prealloc"] = "prealloc",
  ["x-header"] = "header",
}

-- The value of parameter `name` if a client set it explicitly, else nil.
function mre.explicit(params, name)
  if params.set[name] then
    local v = params[name]
    if v == nil then v = params.capabilities[name] end
    return v
  end
  return nil
end

-- Drop from `plan` every field a client decided explicitly, logging where
-- the policy wanted something else. Returns `plan`.
function mre.honour(plan, params)
  if plan == nil then return nil end
  if type(plan) ~= "table" then
    error("mre.honour(plan, params) takes a plan table", 2)
  end
  -- as in QEMU, multifd turned off explicitly means one channel
  if params.set["multifd"] and not params.capabilities.multifd and plan.channels ~= nil then
    mre.log("info", "keeping the client's multifd=off (one channel; the policy proposed channels=%s)",
            tostring(plan.channels))
    plan.channels = nil
  end
  for pname, field in pairs(param_field) do
    if params.set[pname] and plan[field] ~= nil then
      local client = params[pname]
      if plan[field] ~= client then
        mre.log("info", "keeping the client's %s=%s (the policy proposed %s=%s)",
                pname, tostring(client), field, tostring(plan[field]))
      end
      plan[field] = nil
    end
  end
  return plan
end

-- Fields of b over those of a, in a new table.
function mre.merge(a, b)
  local out = {}
  for k, v in pairs(a or {}) do out[k] = v end
  for k, v in pairs(b or {}) do out[k] = v end
  return out
end

-- Rules ---------------------------------------------------------------------
-- A rule list is { { condition, plan }, ... }. A condition is a function
-- (vm, target, host, params) -> boolean; the matchers below build them. A
-- plan is a table or a function returning one. The first rule whose
-- condition holds decides.

function mre.label(key, value)
  return function(vm)
    local v = vm.labels[key]
    if value == nil then return v ~= nil end
    return v == value
  end
end

function mre.ram_at_least(bytes)
  return function(vm) return vm.ram_bytes >= bytes end
end

function mre.ram_below(bytes)
  return function(vm) return vm.ram_bytes < bytes end
end

function mre.always()
  return true
end

function mre.all(...)
  local conds = { ... }
  return function(...)
    for _, c in ipairs(conds) do
      if not c(...) then return false end
    end
    return true
  end
end

function mre.any(...)
  local conds = { ... }
  return function(...)
    for _, c in ipairs(conds) do
      if c(...) then return true end
    end
    return false
  end
end

-- Returns a fresh copy of the plan of the first matching rule and its index,
-- or nil when none matches.
function mre.first_match(rules, ...)
  if type(rules) ~= "table" then
    error("mre.first_match(rules, ...) takes a list of { condition, plan }", 2)
  end
  for i, rule in ipairs(rules) do
    local cond, plan = rule[1], rule[2]
    if type(cond) ~= "function" then
      error(format("rule %d: the condition must be a function (got %s)", i, type(cond)), 2)
    end
    if cond(...) then
      if type(plan) == "function" then plan = plan(...) end
      if plan ~= nil and type(plan) ~= "table" then
        error(format("rule %d: the plan must be a table (got %s)", i, type(plan)), 2)
      end
      return mre.merge(plan, nil), i
    end
  end
  return nil, nil
end

-- Whole MiB count, for messages.
function mre.mib(bytes)
  return floor(bytes / 1048576)
end
