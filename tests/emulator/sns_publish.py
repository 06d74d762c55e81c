"""SNS Publish rules the service model cannot express (its members have no lengths, patterns or
enums), checked before the request is forwarded to moto, which checks fewer of them: see
docs/aws-rules.md SNS-1..SNS-13. Contract: `check(call, params)` raises AwsError for the first
rule broken; moto answers the rest (a missing topic: NotFound)."""

import re

from errors import AwsError

_ARN = re.compile(r"arn:aws[a-z-]*:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256}|[A-Za-z0-9_-]{1,251}(\.fifo))")
MAX_BYTES = 262_144


def _err(message, code="InvalidParameter"):
    return AwsError(code, message, 400)


def one_target(p):
    """Rule: Publish names exactly one target: TopicArn, TargetArn or PhoneNumber."""
    given = [k for k in ("TopicArn", "TargetArn", "PhoneNumber") if p.get(k)]
    if len(given) != 1:
        raise _err("Invalid parameter: exactly one of TopicArn, TargetArn or PhoneNumber must be specified")


def topic_arn_form(p):
    """Rule: a topic ARN is arn:<partition>:sns:<region>:<12-digit account>:<name>, the name 1-256
    letters, digits, _ and -, a FIFO topic's ending .fifo."""
    arn = p.get("TopicArn")
    if arn is not None and not _ARN.fullmatch(arn):
        raise _err(f"Invalid parameter: TopicArn Reason: {arn} is not a valid topic ARN")


def same_region(call, p):
    """Rule: Publish reaches only a topic in the request's own Region (the error code is docs
    silent; NotFound is what moto answers, kept here)."""
    m = _ARN.fullmatch(p.get("TopicArn") or "")
    if m and m.group(1) != call.region:
        raise AwsError("NotFound", f"Topic does not exist in {call.region}: {p['TopicArn']}", 404)


def message_size_bytes(p):
    """Rule: body plus attribute names, types and values are at most 262,144 UTF-8 bytes."""
    size = len((p.get("Message") or "").encode("utf-8"))
    for name, value in (p.get("MessageAttributes") or {}).items():
        size += len(name.encode()) + len(value.get("DataType", "").encode())
        size += len((value.get("StringValue") or "").encode()) + len(value.get("BinaryValue") or b"")
    if size > MAX_BYTES:
        raise _err(f"Invalid parameter: Message too long: {size} bytes, at most {MAX_BYTES}")


def non_empty_message(p):
    """Rule: the message is not empty."""
    if not p.get("Message"):
        raise _err("Invalid parameter: Empty message")


def subject_rules(p):
    """Rule: a Subject has fewer than 100 characters, printable, with no line break or control
    character."""
    s = p.get("Subject")
    if s is None:
        return
    if not s or len(s) >= 100 or any(ord(c) < 0x20 or ord(c) == 0x7F for c in s):
        raise _err("Invalid parameter: Subject")


def fifo_ids(p):
    """Rule: a FIFO topic needs MessageGroupId and MessageDeduplicationId (unless content-based
    deduplication is on, which the product does not rely on), each at most 128 characters; a
    standard topic takes no MessageDeduplicationId (the docs say it applies only to FIFO topics;
    moto refuses it)."""
    m = _ARN.fullmatch(p.get("TopicArn") or "")
    if not m:
        return
    fifo = m.group(4) is not None
    group, dedup = p.get("MessageGroupId"), p.get("MessageDeduplicationId")
    if fifo and not group:
        raise _err("Invalid parameter: The MessageGroupId parameter is required for FIFO topics")
    if fifo and not dedup:
        raise _err("Invalid parameter: The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
    if not fifo and dedup:
        raise _err("Invalid parameter: MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type")
    for name, v in (("MessageGroupId", group), ("MessageDeduplicationId", dedup)):
        if v and len(v) > 128:
            raise _err(f"Invalid parameter: {name} is longer than 128 characters")


def check(call, p):
    one_target(p)
    topic_arn_form(p)
    same_region(call, p)
    non_empty_message(p)
    message_size_bytes(p)
    subject_rules(p)
    fifo_ids(p)
