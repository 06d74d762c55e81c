-- The rollout gates a ModelDeployment offers as Argo CD resource actions, by the rules of the
-- CLI's gate commands (src/oncall/gates.rs). Pause and resume set spec.rollout.paused, a
-- declarative hold. Promote, abort, retry and undo are one-shot requests kept in
-- status.requests, never in the spec: each names the rollout it is for (status.rolloutId when
-- it was made), and the controller honours it only while that rollout is the current one, so a
-- request left behind never acts on a later candidate. Argo CD splits an action's change to
-- status into a merge patch of the status subresource, so the account it patches with needs
-- `patch` on modeldeployments/status.
-- Enabled: promote and abort while a rollout is in flight (status.rolloutInFlight, phase
-- Deploying, Progressing or Paused) and not already asked for it; retry once that rollout
-- rolled back or failed, undo once it succeeded and while status.undoUntil is shown (the
-- controller drops it when the rollback window ends; the CLI also compares it with the clock,
-- which these scripts cannot read reliably), each if not already asked for it; pause while a
-- rollout moves and nothing holds it; resume while spec.rollout.paused is set. Runs in Argo
-- CD's Lua 5.1 (gopher-lua) and in the tests' Lua 5.4; a resource without status,
-- status.requests or spec.rollout is fine.
local actions = {}

local rollout = {}
if obj.spec ~= nil and obj.spec.rollout ~= nil then
  rollout = obj.spec.rollout
end
local phase = nil
local id = nil
local flight = false
local undoUntil = nil
local requests = {}
if obj.status ~= nil then
  phase = obj.status.phase
  id = obj.status.rolloutId
  flight = obj.status.rolloutInFlight == true
  undoUntil = obj.status.undoUntil
  if obj.status.requests ~= nil then
    requests = obj.status.requests
  end
end

-- Whether a request of this kind already names the current rollout.
local function asked(gate)
  local r = requests[gate]
  return r ~= nil and id ~= nil and r.rollout == id
end

-- A rollout whose candidate promote and abort act on (Paused alone may be a resource at rest,
-- its next candidate held by closed windows: rolloutInFlight tells); one that still moves; one
-- that ended without its candidate serving; one that ended with it serving and the previous
-- champion still kept.
local inFlight = id ~= nil and flight
  and (phase == "Deploying" or phase == "Progressing" or phase == "Paused")
local moving = phase == "Validating" or phase == "Deploying" or phase == "Progressing"
local ended = id ~= nil and not flight and (phase == "RolledBack" or phase == "Failed")
local undoable = id ~= nil and not flight and phase == "Succeeded" and undoUntil ~= nil

-- Hold at the current step: while the rollout moves and nothing holds it yet.
actions["pause"] = {["disabled"] = rollout.paused == true or not moving}
-- Go on: whenever spec.rollout.paused is set (a hold for a human takes promote or abort).
actions["resume"] = {["disabled"] = rollout.paused ~= true}
-- Candidate to 100 % now: while one is in flight and not already asked for this rollout.
actions["promote"] = {["disabled"] = not inFlight or asked("promote")}
-- Champion back now: while a candidate is in flight and not already asked for this rollout.
actions["abort"] = {["disabled"] = not inFlight or asked("abort")}
-- The rolled-back or failed candidate again, once for this rollout.
actions["retry"] = {["disabled"] = not ended or asked("retry")}
-- The previous champion back after a success, within the rollback window, once for this
-- rollout.
actions["undo"] = {["disabled"] = not undoable or asked("undo")}

return actions
