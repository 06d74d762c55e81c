-- spec.rollout.promote: true, as `sagemaker-rollout promote`: the in-flight candidate goes to
-- 100 % now, skipping the remaining steps and bakes. Clears abort (the CRD refuses both).
-- Refused, as by the CLI, when no candidate is in flight: on a RolledBack or Failed resource
-- it would send the rejected candidate straight to 100 %. promote stays set afterwards and
-- would fast-forward the next candidate too (`sagemaker-rollout promote --clear` unsets it).
if obj.spec == nil then
  obj.spec = {}
end
if obj.spec.rollout == nil then
  obj.spec.rollout = {}
end
local rollout = obj.spec.rollout
-- Already so: nothing to change (the CLI sends nothing either).
if rollout.promote == true and rollout.abort ~= true then
  return obj
end
local phase = nil
if obj.status ~= nil then
  phase = obj.status.phase
end
if phase ~= "Validating" and phase ~= "Deploying" and phase ~= "Progressing" and phase ~= "Paused" then
  error("nothing to promote: the resource is " .. (phase or "not yet reconciled") .. "; promote sends an in-flight candidate to 100 % (retry starts a rolled-back one again)", 0)
end
rollout.promote = true
if rollout.abort == true then
  rollout.abort = false
end
return obj
