-- spec.rollout.paused: false, as `sagemaker-rollout resume`: the rollout goes on and the step
-- bakes again from its start.
if obj.spec == nil then
  obj.spec = {}
end
if obj.spec.rollout == nil then
  obj.spec.rollout = {}
end
obj.spec.rollout.paused = false
return obj
