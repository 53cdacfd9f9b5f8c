"""Errors the user sees as one line (the CLI prints str(error) and exits non-zero). Imports nothing."""


class TrackerError(Exception):
    """A problem the user can act on; its message is one line, no traceback is shown."""


class InputError(TrackerError):
    """Bad input: missing or unreadable file, malformed argument, bad model."""


class SourceError(TrackerError):
    """A frame source failed: no camera, camera unplugged, corrupt recording."""


class RecordingError(TrackerError):
    """Recording cannot start or had to stop (disk full, writer stalled)."""
