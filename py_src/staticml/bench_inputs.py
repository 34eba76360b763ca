"""The inputs every semantic-search benchmark uses, in the browser and for PyTorch alike.

`build.py build` writes them to dist/bench-inputs.json for the bench page; `build.py bench` feeds the
same lists to sentence-transformers. Deterministic: no randomness, no download.
"""

SHORT = "How do I read a file line by line in Python?"

# Eight everyday queries of different lengths (batch 8); batch 32 repeats them with a suffix.
BATCH_8 = [
    SHORT,
    "Sort a list of dictionaries by a key.",
    "What is the difference between a thread and a process?",
    "Parse command line arguments with subcommands and help text.",
    "Compress a folder into a zip archive and extract it again later.",
    "How can I measure how long a function takes to run, precisely and repeatedly?",
    "Send an HTTP request with a JSON body and read the response headers.",
    "Convert a timestamp in seconds since the epoch into a readable date in UTC.",
]
BATCH_32 = [f"{s} (variant {i})" for i in range(4) for s in BATCH_8]

_SENTENCES = [
    "Static sites are files that a server hands out exactly as they are stored.",
    "Nothing is computed on the server, so hosting is cheap and fast from a content delivery network.",
    "Machine learning in the page used to mean sending the user's text to an API in a data centre.",
    "That costs money per request, fails without a network, and sends data somewhere else.",
    "WebAssembly runs a full Python interpreter in the browser at close to native speed.",
    "WebGPU gives pages the graphics card for general computation through compute shaders.",
    "Service workers and IndexedDB keep large files on the device so the site works offline.",
    "A model's weights are downloaded once, verified by their hash, stored, and reused on every visit.",
]


def passage(words: int) -> str:
    """A passage of about `words` words (≈ 1.2 word pieces each for MiniLM's tokenizer)."""
    out: list[str] = []
    i = 0
    while len(out) < words:
        out += _SENTENCES[i % len(_SENTENCES)].split()
        i += 1
    return " ".join(out[:words])


PASSAGE_250 = passage(205)          # ≈ 250 word pieces
THROUGHPUT_128 = passage(105)       # ≈ 128 word pieces, the unit of the throughput rows (issue 9)


def as_json() -> dict:
    return {"short": SHORT, "batch_8": BATCH_8, "batch_32": BATCH_32, "passage_250": PASSAGE_250,
            "throughput_128": THROUGHPUT_128}
