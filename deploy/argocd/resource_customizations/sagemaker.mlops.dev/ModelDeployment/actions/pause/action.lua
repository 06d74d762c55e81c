-- spec.rollout.paused: true, as `sagemaker-rollout pause`: the rollout holds at its step and
-- the bake timer stops.
if obj.spec == nil then
  obj.spec = {}
end
if obj.spec.rollout == nil then
  obj.spec.rollout = {}
end
obj.spec.rollout.paused = true
return obj
