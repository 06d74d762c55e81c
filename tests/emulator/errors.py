"""AWS errors raised by handlers and rendered by the protocol encoders.

Contract: raise `AwsError(code, message, status=400, fields=None)`; the server renders it in
the protocol of the service (awsJson `__type`, restJson `x-amzn-ErrorType`, CBOR `__type` +
`x-amzn-query-error`, XML `<Error>`). `validation(msg)` is SageMaker's ValidationException.
"""


class AwsError(Exception):
    """An AWS error response: code, message, HTTP status and extra modeled fields."""

    def __init__(self, code, message, status=400, fields=None, sender=True, injected=False):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields or {}
        self.sender = sender
        self.injected = injected


def validation(message):
    """SageMaker / Application Auto Scaling style ValidationException (HTTP 400)."""
    return AwsError("ValidationException", message)


class SerializationError(Exception):
    """The request body could not be decoded in the service's protocol."""


class DropConnection(Exception):
    """Fault injection: close the connection without writing any HTTP response."""
