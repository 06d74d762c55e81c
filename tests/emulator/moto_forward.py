"""Forwards validated S3, SNS and STS requests to moto's in-process WSGI apps (imported lazily).

Contract: `forward(service, environ, body)` -> (status, [(header, value)], body bytes) from
moto's backend app for that service (path-style S3). `reset()` resets the moto backends that
were loaded; `s3_state()` lists buckets with their keys and sizes; `sns_state()` topics and
published message counts. Moto answers for account 123456789012.
"""
import io
import threading

ACCOUNT = "123456789012"
_apps = {}
_lock = threading.Lock()
MOTO_SERVICES = ("s3", "sns", "sts")


def app(service):
    with _lock:
        if service not in _apps:
            from moto.server import create_backend_app
            _apps[service] = create_backend_app(service)
        return _apps[service]


def warm():
    """Imports moto and builds the three apps (run in the background after start-up)."""
    for s in MOTO_SERVICES:
        try:
            app(s)
        except Exception:
            pass


def forward(service, environ, body):
    env = dict(environ)
    env["wsgi.input"] = io.BytesIO(body)
    env["CONTENT_LENGTH"] = str(len(body))
    env.pop("HTTP_TRANSFER_ENCODING", None)
    env["wsgi.input_terminated"] = False
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"] = status
        captured["headers"] = headers

    chunks = app(service)(env, start_response)
    try:
        data = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return int(captured["status"].split()[0]), captured["headers"], data


def bucket_region(name):
    """The region moto created bucket `name` in, or None when there is no such bucket."""
    if "s3" not in _apps:
        return None
    from moto.s3.models import s3_backends
    bucket = s3_backends.get(ACCOUNT, {}).get("aws") and s3_backends[ACCOUNT]["aws"].buckets.get(name)
    return bucket.region_name if bucket else None


def redirect_other_region(call, path):
    """Rule: a request about an object of a bucket in another region than the request's (its SigV4
    scope) is answered 301 PermanentRedirect with the bucket's region in x-amz-bucket-region, and
    no body for a HEAD; the SDK does not follow it."""
    if call.operation in (None, "CreateBucket", "ListBuckets"):
        return None
    bucket = path.lstrip("/").split("/", 1)[0]
    region = bucket_region(bucket) if bucket else None
    if region is None or region == call.region:
        return None
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PermanentRedirect</Code><Message>The bucket you '
            f'are attempting to access must be addressed using the specified endpoint. Please send all future '
            f'requests to this endpoint.</Message><Bucket>{bucket}</Bucket><Endpoint>{bucket}.s3.{region}.amazonaws.com'
            f'</Endpoint></Error>').encode()
    return 301, {"x-amz-bucket-region": region, "Content-Type": "application/xml"}, body


def copy_source_if_match(call, params):
    """Rule: CopyObject and UploadPartCopy with x-amz-copy-source-if-match copy only while the
    source's ETag is the one named; otherwise they answer 412 PreconditionFailed and copy nothing
    (moto ignores the header)."""
    want = params.get("CopySourceIfMatch")
    if call.operation not in ("CopyObject", "UploadPartCopy") or not want or "s3" not in _apps:
        return None
    from urllib.parse import unquote
    source = unquote(str(params.get("CopySource") or "")).lstrip("/").split("?", 1)[0]
    bucket, _, key = source.partition("/")
    from moto.s3.models import s3_backends
    backend = s3_backends.get(ACCOUNT, {}).get("aws")
    found = backend and backend.buckets.get(bucket) and backend.buckets[bucket].keys.get(key)
    if not found or found.etag.strip('"') == want.strip('"'):
        return None
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code><Message>At least '
            'one of the pre-conditions you specified did not hold</Message><Condition>x-amz-copy-source-If-Match'
            '</Condition></Error>').encode()
    return 412, {"Content-Type": "application/xml"}, body


def reset():
    if not _apps:
        return
    from moto.backends import get_backend
    for s in list(_apps):
        try:
            get_backend(s).reset()
        except Exception:
            pass


def s3_state():
    if "s3" not in _apps:
        return []
    from moto.s3.models import s3_backends
    if ACCOUNT not in s3_backends:
        return []
    out = []
    for name, bucket in sorted(s3_backends[ACCOUNT]["aws"].buckets.items()):
        out.append({"name": name, "region": bucket.region_name,
                    "keys": {k: v.size for k, v in sorted(bucket.keys.items())}})
    return out


def sns_state():
    if "sns" not in _apps:
        return []
    from moto.sns.models import sns_backends
    out = []
    if ACCOUNT not in sns_backends:
        return out
    for region, backend in sns_backends[ACCOUNT].items():
        for arn, topic in backend.topics.items():
            out.append({"arn": arn, "region": region, "name": topic.name})
    return out
