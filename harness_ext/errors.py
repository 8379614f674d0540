"""Errors shown to users: each message names the problem and the fix."""


class SparksError(Exception):
    """A user-facing error (bad input, missing data or model); printed without a traceback."""
