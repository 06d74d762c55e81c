-- Asks, as `sagemaker-rollout promote` does, for the candidate of the rollout in flight to go
-- to 100 % now, skipping its remaining steps and bakes: status.requests.promote names that
-- rollout (status.rolloutId), and any abort request is dropped. The request binds to this
-- rollout only; a later candidate ignores it. Argo CD sends it as a patch of the status
-- subresource. Refused, with the CLI's message, unless a rollout is in flight
-- (status.rolloutInFlight) and Deploying, Progressing or Paused: on a RolledBack or Failed
-- resource, or one Paused at rest (its next candidate held by closed windows), it would have
-- nothing to act on. No `at` is set, so the result depends on the object alone.
local phase = nil
local id = nil
local flight = false
if obj.status ~= nil then
  phase = obj.status.phase
  id = obj.status.rolloutId
  flight = obj.status.rolloutInFlight == true
end
if id == nil or not flight or (phase ~= "Deploying" and phase ~= "Progressing" and phase ~= "Paused") then
  error("nothing to promote: the resource is " .. (phase or "not yet reconciled") .. "; promote sends the candidate of the rollout in flight to 100 % (retry starts a rolled-back one again)", 0)
end
if obj.status.requests == nil then
  obj.status.requests = {}
end
local requests = obj.status.requests
-- Already asked for this rollout: nothing to change (the CLI sends nothing either).
if requests.promote ~= nil and requests.promote.rollout == id then
  return obj
end
requests.promote = {["rollout"] = id}
requests.abort = nil
return obj
