-- Asks, as `sagemaker-rollout abort` does, for the rollout in flight to roll back now: the
-- champion takes all traffic back. status.requests.abort names that rollout
-- (status.rolloutId), and any promote request is dropped. The request binds to this rollout
-- only; a later candidate ignores it. Argo CD sends it as a patch of the status subresource.
-- Refused, with the CLI's message, unless a rollout is in flight (status.rolloutInFlight) and
-- Deploying, Progressing or Paused (to hold a candidate that has not started, pause; one
-- Paused at rest, its next candidate held by closed windows, has nothing to abort). No `at`
-- is set, so the result depends on the object alone.
local phase = nil
local id = nil
local flight = false
if obj.status ~= nil then
  phase = obj.status.phase
  id = obj.status.rolloutId
  flight = obj.status.rolloutInFlight == true
end
if id == nil or not flight or (phase ~= "Deploying" and phase ~= "Progressing" and phase ~= "Paused") then
  error("nothing to abort: the resource is " .. (phase or "not yet reconciled") .. "; abort rolls back the rollout in flight (pause holds a candidate that has not started)", 0)
end
if obj.status.requests == nil then
  obj.status.requests = {}
end
local requests = obj.status.requests
-- Already asked for this rollout: nothing to change (the CLI sends nothing either).
if requests.abort ~= nil and requests.abort.rollout == id then
  return obj
end
requests.abort = {["rollout"] = id}
requests.promote = nil
return obj
