-- The rollout gates a ModelDeployment offers as Argo CD resource actions, by the rules of the
-- CLI's gate commands (src/oncall/gates.rs): an action that would change nothing is disabled,
-- promote only while a candidate is in flight, retry only once one was rolled back or failed.
-- Pause and abort are offered only while a rollout is in flight (the CLI would also set them
-- at rest, where they only hold or stop the next rollout). Runs in Argo CD's Lua 5.1
-- (gopher-lua) and in the tests' Lua 5.4; a resource without status or spec.rollout is fine.
local actions = {}

local rollout = {}
if obj.spec ~= nil and obj.spec.rollout ~= nil then
  rollout = obj.spec.rollout
end
local phase = nil
if obj.status ~= nil then
  phase = obj.status.phase
end

-- A candidate on its way (the phases the CLI promotes in), and one that still moves.
local inFlight = phase == "Validating" or phase == "Deploying" or phase == "Progressing" or phase == "Paused"
local moving = inFlight and phase ~= "Paused"
local ended = phase == "RolledBack" or phase == "Failed"

-- Hold at the current step: while the rollout moves and nothing holds it yet.
actions["pause"] = {["disabled"] = rollout.paused == true or not moving}
-- Go on: whenever spec.rollout.paused is set (a hold for a human takes promote or abort).
actions["resume"] = {["disabled"] = rollout.paused ~= true}
-- Candidate to 100 % now: while one is in flight and not already promoted.
actions["promote"] = {["disabled"] = not inFlight or (rollout.promote == true and rollout.abort ~= true)}
-- Champion back now: while a candidate is in flight and abort is not already set.
actions["abort"] = {["disabled"] = not inFlight or rollout.abort == true}
-- The rolled-back or failed candidate again.
actions["retry"] = {["disabled"] = not ended}

return actions
