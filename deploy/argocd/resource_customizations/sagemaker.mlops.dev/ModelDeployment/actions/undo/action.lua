-- Asks, as `sagemaker-rollout undo` does, for traffic to return to the previous champion
-- after a rollout that succeeded, while its endpoint config is still kept
-- (rollout.rollbackWindow): status.requests.undo names that rollout (status.rolloutId); the
-- other requests stay. The request binds to this rollout only; a later one ignores it. Argo
-- CD sends it as a patch of the status subresource. Refused, with the CLI's message, unless
-- the resource is Succeeded, no rollout is in flight (status.rolloutInFlight) and
-- status.undoUntil is shown. The CLI also checks that undoUntil is still ahead of its clock;
-- these scripts cannot parse the time reliably, and need not: the controller drops undoUntil
-- from the status when the window ends, and ignores an undo asked for after it. No `at` is
-- set, so the result depends on the object alone.
local phase = nil
local id = nil
local flight = false
local undoUntil = nil
if obj.status ~= nil then
  phase = obj.status.phase
  id = obj.status.rolloutId
  flight = obj.status.rolloutInFlight == true
  undoUntil = obj.status.undoUntil
end
if id == nil or flight or undoUntil == nil or phase ~= "Succeeded" then
  error("nothing to undo: the resource is " .. (phase or "not yet reconciled") .. "; undo returns traffic to the previous champion within rollout.rollbackWindow after a rollout that succeeded (status.undoUntil)", 0)
end
if obj.status.requests == nil then
  obj.status.requests = {}
end
local requests = obj.status.requests
-- Already asked for this rollout: nothing to change (the CLI sends nothing either).
if requests.undo ~= nil and requests.undo.rollout == id then
  return obj
end
requests.undo = {["rollout"] = id}
return obj
