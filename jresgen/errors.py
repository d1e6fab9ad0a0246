"""The one exception type for a user's mistake: the CLI prints its message as one line."""


class UserError(Exception):
    """Bad input from the user (config, paths, images, flags): no traceback, exit code 2."""
