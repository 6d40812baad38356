"""One exception hierarchy; the CLI maps each class to a one-line message and an exit code."""

from __future__ import annotations


class TtpmapError(Exception):
    """Base class of every error ttpmap raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(message)

    def __str__(self) -> str:
        msg = super().__str__()
        return f"{self.source}: {msg}" if self.source else msg


class UsageError(TtpmapError):
    """The user asked for something that cannot be done (bad flag, unknown ID)."""

    exit_code = 2


class InputError(TtpmapError):
    """An input is unreadable, unsupported, too large, encrypted or malformed."""

    exit_code = 3


class UnsupportedInput(InputError):
    """The input's type could not be recognised or is not supported."""


class InputTooLarge(InputError):
    """The input exceeds a configured limit (bytes, pages, time)."""


class KnowledgeBaseError(TtpmapError):
    """An ATT&CK bundle could not be found, downloaded or parsed."""

    exit_code = 3


class ModelError(TtpmapError):
    """A technique model could not be trained, loaded or applied."""


class ExportError(TtpmapError):
    """An output format could not be produced (e.g. PDF without Pango)."""


class SchemaError(InputError):
    """A saved JSON document does not match the versioned contract (unknown version or keys)."""


class StoreError(TtpmapError):
    """The analysis store cannot be reached, opened or migrated."""

    exit_code = 3
