"""Shared list helpers: NextToken pagination, case-insensitive substring name filters,
creation-time windows and sorting.

Contract: `page(items, token, max_results, default, error)` returns (items, next_token) and
raises `error(msg)` for a token this emulator did not issue; `name_contains(items, key, s)`
keeps items whose `key` contains s case-insensitively; `time_window(items, key, after,
before)`; `sort(items, by_key, descending)`; `epoch(v)` converts a request timestamp.
"""
import base64
import datetime


def epoch(v):
    """Epoch seconds of a request timestamp (number or ISO-8601 string)."""
    if v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    return datetime.datetime.fromisoformat(str(v).replace("Z", "+00:00")).timestamp()


def page(items, token, max_results, default, error):
    """One page of `items` and the token of the next page (None on the last page)."""
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode().split(":", 1)[1])
        except Exception:
            raise error("Invalid pagination token: " + str(token))
    size = max_results or default
    chunk = items[start:start + size]
    nxt = None
    if start + size < len(items):
        nxt = base64.urlsafe_b64encode(f"emulator:{start + size}".encode()).decode()
    return chunk, nxt


def name_contains(items, key, text):
    """Rule: NameContains is a case-insensitive substring filter."""
    if not text:
        return items
    t = text.lower()
    return [i for i in items if t in i[key].lower()]


def time_window(items, key, after=None, before=None):
    """Items with after < item[key] < before (either bound optional)."""
    a, b = epoch(after), epoch(before)
    return [i for i in items if (a is None or i[key] > a) and (b is None or i[key] < b)]


def sort(items, key, descending):
    return sorted(items, key=lambda i: (i[key] if not isinstance(i[key], str) else i[key].lower()), reverse=descending)
