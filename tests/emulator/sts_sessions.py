"""STS AssumeRole sessions: the rules AWS applies to session tags and SourceIdentity that the
botocore model does not express, and the record of every issued session.

moto 5.2.5 answers AssumeRole but keeps neither the session tags nor the SourceIdentity
(`moto/sts/models.py::AssumedRole` stores only the session name, role ARN, policy, duration
and external id, and its response has no SourceIdentity). So the emulator keeps its own record.

Contract: `check_assume_role(params)` raises AwsError (ValidationError) for the first rule the
request breaks (after `validate.check`, which already enforces the model: RoleSessionName
2-64 of `[\\w+=,.@-]*`, at most 50 tags, key 1-128 and value 0-256 of
`[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]`, SourceIdentity min 2 of `[\\w+=,.@-]*`; that pattern has no
colon, so it already refuses a SourceIdentity beginning with the reserved "aws:").
`record(world, call, params, body)` remembers moto's answer per issued AccessKeyId (session
name, source identity, tags, transitive tag keys, role and assumed-role ARNs, expiry) and
returns the response body with `<SourceIdentity>` added when one was set, as AWS answers.
`session_of(world, access_key_id)` is the record, or None for a key AssumeRole did not issue
(e.g. the default AKIDEXAMPLE); `sessions(world)` lists them for GET /_emulator/sessions.
Not modelled: role chaining (a session calling AssumeRole does not pass on transitive tags or
its source identity), expiry (a session's credentials never expire), sts:TagSession /
sts:SetSourceIdentity permissions, the packed-size limit (PackedPolicyTooLarge).
"""
import time
import xml.etree.ElementTree as ET

from errors import AwsError

SOURCE_IDENTITY_MAX = 64
RESERVED_PREFIX = "aws:"


def _invalid(message):
    return AwsError("ValidationError", message)


def session_tag_keys_unique(tags):
    """Rule: session tag keys are not case sensitive, so an AssumeRole request may not pass two
    tags whose keys are equal ignoring case ("you cannot have separate Department and department
    tag keys"); the error wording is the emulator's (the docs give none)."""
    seen = {}
    for t in tags:
        k = t.get("Key", "")
        if k.lower() in seen:
            raise _invalid(f"Duplicate tag keys found: '{seen[k.lower()]}' and '{k}'. "
                           "Please note that Tag keys are case insensitive.")
        seen[k.lower()] = k


def session_tags_not_reserved(tags):
    """Rule: a session tag key or value may not begin with "aws:" (reserved for AWS; session tags
    follow the rules for naming tags in IAM and AWS STS); the error wording is the emulator's."""
    for i, t in enumerate(tags, 1):
        for part in ("Key", "Value"):
            v = t.get(part) or ""
            if v.lower().startswith(RESERVED_PREFIX):
                raise _invalid(f"1 validation error detected: Value '{v}' at 'tags.{i}.member.{part.lower()}' "
                               "failed to satisfy constraint: the prefix 'aws:' is reserved for AWS use")


def source_identity_length(si):
    """Rule: SourceIdentity is at most 64 characters (IAM user guide; botocore's model allows
    256, so 65-256 are refused here)."""
    if si is not None and len(si) > SOURCE_IDENTITY_MAX:
        raise _invalid(f"1 validation error detected: Value '{si}' at 'sourceIdentity' failed to satisfy "
                       f"constraint: Member must have length less than or equal to {SOURCE_IDENTITY_MAX}")


def check_assume_role(params):
    """Every AssumeRole rule the model cannot express, in request order."""
    tags = params.get("Tags") or []
    session_tag_keys_unique(tags)
    session_tags_not_reserved(tags)
    si = params.get("SourceIdentity")
    source_identity_length(si)


def _text(root, name):
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] == name:
            return el.text
    return None


def record(world, call, params, body):
    """Remembers the session moto issued; returns the body with SourceIdentity added."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return body
    akid = _text(root, "AccessKeyId")
    if not akid:
        return body
    tags = [{"Key": t.get("Key", ""), "Value": t.get("Value") or ""} for t in params.get("Tags") or []]
    duration = int(params.get("DurationSeconds") or 3600)
    world.sessions[akid] = {
        "access_key_id": akid, "arn": _text(root, "Arn"), "assumed_role_id": _text(root, "AssumedRoleId"),
        "role_arn": params.get("RoleArn"), "session_name": params.get("RoleSessionName"),
        "source_identity": params.get("SourceIdentity"), "tags": tags,
        "transitive_tag_keys": list(params.get("TransitiveTagKeys") or []),
        "region": call.region, "issued": time.time(), "expires": time.time() + duration,
    }
    si = params.get("SourceIdentity")
    if si and b"<SourceIdentity>" not in body:
        element = b"<SourceIdentity>" + _xml_escape(si).encode() + b"</SourceIdentity>"
        body = body.replace(b"</AssumeRoleResult>", element + b"</AssumeRoleResult>", 1)
    return body


def _xml_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def session_of(world, access_key_id):
    return world.sessions.get(access_key_id) if access_key_id else None


def tag(session, key):
    """The value of a session tag (keys compared ignoring case, as IAM does), or None."""
    for t in (session or {}).get("tags", []):
        if t["Key"].lower() == key.lower():
            return t["Value"]
    return None


def sessions(world):
    return [dict(s, tags={t["Key"]: t["Value"] for t in s["tags"]}) for s in world.sessions.values()]
