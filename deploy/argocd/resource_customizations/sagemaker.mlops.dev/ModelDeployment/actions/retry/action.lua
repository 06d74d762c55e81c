-- Asks, as `sagemaker-rollout retry` does, for the candidate whose rollout rolled back or
-- failed to be rolled out again: status.requests.retry names that rollout
-- (status.rolloutId). The request binds to this rollout only and leaves spec.rollout.retry
-- alone. Argo CD sends it as a patch of the status subresource. Refused, with the CLI's
-- message, unless the resource is RolledBack or Failed and no rollout is in flight
-- (status.rolloutInFlight). No `at` is set, so the result depends on the object alone.
local phase = nil
local id = nil
local flight = false
if obj.status ~= nil then
  phase = obj.status.phase
  id = obj.status.rolloutId
  flight = obj.status.rolloutInFlight == true
end
if id == nil or flight or (phase ~= "RolledBack" and phase ~= "Failed") then
  error("nothing to retry: the resource is " .. (phase or "not yet reconciled") .. "; retry starts a RolledBack or Failed candidate again", 0)
end
if obj.status.requests == nil then
  obj.status.requests = {}
end
local requests = obj.status.requests
-- Already asked for this rollout: nothing to change (the CLI sends nothing either).
if requests.retry ~= nil and requests.retry.rollout == id then
  return obj
end
requests.retry = {["rollout"] = id}
return obj
