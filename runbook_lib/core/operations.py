"""Which AWS API operations only read: one rule for the call recorder and the local journal.

AWS names its operations by verb (``GetPipelineState``, ``ListBuilds``, ``PutBucketPolicy``), so
the verb is enough to tell a read from a mutation; both the client-side recorder ("a converged
re-run makes no mutating call") and the local AWS's journal (only mutations are replayed after a
restart) must agree on it.
"""

from __future__ import annotations

READ_PREFIXES = ("Get", "List", "Describe", "Head", "BatchGet", "Check", "Lookup", "Simulate",
                 "Search", "Filter", "Test", "Select", "Poll", "Scan", "Query", "Validate")


def is_read_operation(operation: str) -> bool:
    """Classify an API operation as read-only by AWS's naming convention."""
    return operation.startswith(READ_PREFIXES)
