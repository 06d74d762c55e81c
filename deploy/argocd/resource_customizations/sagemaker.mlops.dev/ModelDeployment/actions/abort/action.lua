-- spec.rollout.abort: true, as `sagemaker-rollout abort`: the champion takes all traffic back
-- and keeps it until abort is cleared or the spec changes. Clears promote (the CRD refuses
-- both).
if obj.spec == nil then
  obj.spec = {}
end
if obj.spec.rollout == nil then
  obj.spec.rollout = {}
end
local rollout = obj.spec.rollout
rollout.abort = true
if rollout.promote == true then
  rollout.promote = false
end
return obj
