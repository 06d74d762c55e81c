-- spec.rollout.retry raised by one (absent counts as 0) and abort cleared, as
-- `sagemaker-rollout retry`: the rolled-back or failed candidate is rolled out again. Refused,
-- as by the CLI, unless the resource is RolledBack or Failed.
local phase = nil
if obj.status ~= nil then
  phase = obj.status.phase
end
if phase ~= "RolledBack" and phase ~= "Failed" then
  error("nothing to retry: the resource is " .. (phase or "not yet reconciled") .. "; retry starts a RolledBack or Failed candidate again", 0)
end
if obj.spec == nil then
  obj.spec = {}
end
if obj.spec.rollout == nil then
  obj.spec.rollout = {}
end
local rollout = obj.spec.rollout
rollout.retry = (tonumber(rollout.retry) or 0) + 1
if rollout.abort == true then
  rollout.abort = false
end
return obj
