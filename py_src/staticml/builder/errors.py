class BuildError(Exception):
    """A problem the person running build.py must fix; the message says what and how."""
