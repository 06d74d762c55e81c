"""Name uniqueness for SageMaker Create* calls.

Contract: `refuse_existing(table, key, label, arn)` raises AWS's ValidationException
'Cannot create already existing <label> "<arn>".' when the (case-insensitive) name exists.
"""
from errors import validation


def refuse_existing(table, key, label, resource_arn):
    """Rule: creating a model, endpoint configuration or endpoint whose name exists fails."""
    if key in table:
        raise validation(f'Cannot create already existing {label} "{resource_arn}".')
