"""The one error a build step raises to fail its phase the way CodeBuild records it."""

from __future__ import annotations


class PhaseFailed(Exception):
    """A phase failed; ``status_code`` and ``message`` become its phase context.

    ``status_code`` is CodeBuild's own (``CLIENT_ERROR``, ``YAML_FILE_ERROR``,
    ``COMMAND_EXECUTION_ERROR``, ``Secrets Manager Error``...), so BatchGetBuilds shows what
    CodeBuild would.
    """

    def __init__(self, status_code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
