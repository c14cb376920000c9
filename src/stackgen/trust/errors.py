"""The errors a user can fix: ordinary ``ValueError`` and ``TypeError`` subclasses, so that code
calling the estimators can catch them as it catches scikit-learn's. The command line prints each
as one ``error:`` line and exits 1."""

from __future__ import annotations


class StackgenError(ValueError):
    """A problem the user can fix: bad data, members or settings; a missing or unreadable file."""


class StackgenTypeError(StackgenError, TypeError):
    """Something given is of a kind stackgen cannot use (a member that is not a model, a file
    or a builder)."""


class MissingArtifactError(StackgenError):
    """A file a step needs is not there; the message names the step that makes it."""


class CorruptArtifactError(StackgenError):
    """A file is there but cannot be read as what it should be."""


class StaleArtifactError(StackgenError):
    """A file's lineage does not hold: it, or something it was made from, changed since."""


class UnreadableFileError(StackgenError):
    """A file cannot be read as what it should be; ``reason`` says why, in a few words."""

    def __init__(self, path, reason: object):
        text = str(reason).strip()
        self.path = path
        self.reason = text.splitlines()[0][:160] if text else type(reason).__name__
        super().__init__(f"{path} could not be read ({self.reason})")


class UntrustedFileError(StackgenError):
    """A skops file holds types nobody said to trust: refused instead of loaded."""

    def __init__(self, path, types: list[str]):
        self.path = path
        self.types = list(types)
        super().__init__(
            f"{path} holds types that are not trusted ({', '.join(self.types[:3])}); refusing "
            "to load it (pass trusted=[...] with the types if you trust the file)"
        )
