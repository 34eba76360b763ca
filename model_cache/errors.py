class ConvertError(Exception):
    """A problem with the model folder or the output location; the message says what and what to do."""
