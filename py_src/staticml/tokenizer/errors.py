"""The one exception the tokenizer raises for bad input or an unsupported tokenizer.json."""


class TokenizerError(ValueError):
    """Bad tokenizer.json, unsupported component, or bad arguments; the message says what to do."""
