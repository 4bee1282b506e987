"""The one exception the command line turns into a one-line message."""


class ShelfsightError(Exception):
    """A problem the user can fix (bad argument, unwritable path, invalid file): one sentence."""
