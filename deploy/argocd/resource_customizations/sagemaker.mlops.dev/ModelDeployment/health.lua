-- Argo CD health of a ModelDeployment, read from the kstatus conditions the controller
-- writes (Ready / Reconciling / Stalled, each with observedGeneration) and its phase.
-- Stalled=True is Degraded, including a rollout held for a human decision (phase Paused
-- under rollbackOn: Manual), as kstatus and Flux count it Failed; a hold asked for with
-- spec.rollout.paused (phase Paused, nothing Stalled) is Suspended, as Argo Rollouts maps
-- its own Paused phase. Runs in Argo CD's Lua 5.1 (gopher-lua) and in the tests' Lua 5.4.
local hs = {}

-- "Reason: message" of a condition.
local function describe(c)
  return (c.reason or "") .. ": " .. (c.message or "")
end

local function condition(kind)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller to report status"
  return hs
end

local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller to observe generation " .. tostring(generation)
  return hs
end

local ready = condition("Ready")
local stalled = condition("Stalled")
local reconciling = condition("Reconciling")
local phase = obj.status.phase

if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled)
  return hs
end
if phase == "Paused" then
  hs.status = "Suspended"
  hs.message = (ready ~= nil and ready.message) or "Rollout paused"
  return hs
end
if phase == "RolledBack" or phase == "Failed" then
  hs.status = "Degraded"
  hs.message = (ready ~= nil and describe(ready)) or phase
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or "Serving"
  return hs
end
hs.status = "Progressing"
if reconciling ~= nil and reconciling.status == "True" then
  hs.message = describe(reconciling)
elseif ready ~= nil then
  hs.message = describe(ready)
else
  hs.message = "Reconciling"
end
return hs
