"""The one exception type for mistakes a user can make (bad file, bad photo, missing checkpoint...).

The command line prints the message without a traceback and exits non-zero; the studio shows it in
the window and keeps running. Messages say what was wrong and what to do about it.
"""


class Head360Error(Exception):
    """A user-facing error: ``str(error)`` is one line naming the problem and the remedy."""
