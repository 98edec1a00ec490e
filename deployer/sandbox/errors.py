"""The one error type the sandbox raises: what went wrong and the command that fixes it."""

from __future__ import annotations


class SandboxError(RuntimeError):
    """A sandbox operation failed; `fix` is the exact command that resolves it, when known."""

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.fix = fix

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text}\n  fix: {self.fix}" if self.fix else text
