"""The errors a user can fix. The command line prints each as one ``error:`` line and exits 1."""

from __future__ import annotations


class StackgenError(Exception):
    """A problem the user can fix; the CLI prints it as one line and exits non-zero."""


class MissingArtifactError(StackgenError):
    """A file a step needs is not there; the message names the step that makes it."""


class CorruptArtifactError(StackgenError):
    """A file is there but cannot be read as what it should be."""


class StaleArtifactError(StackgenError):
    """A file's lineage does not hold: it, or something it was made from, changed since."""
