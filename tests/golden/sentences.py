"""The sentences the MiniLM golden embeddings are made from (tests/golden/make_minilm_golden.py)."""

SHORT = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
    "How do I read a CSV file in Python?",
    "pandas.read_csv loads a comma-separated file into a DataFrame.",
    "The weather in Lisbon is sunny today.",
    "Quantum computers use qubits instead of bits.",
    "WebGPU exposes modern GPU compute to web pages.",
    "The service worker keeps the app available offline.",
    "Le chat dort sur le canapé.",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "東京は日本の首都です。",
    "Привет, как дела?",
    "¿Dónde está la biblioteca?",
    "I love this movie! 😍🎬",
    "Error 404: page not found",
    "def add(a, b): return a + b",
    "https://example.org/path?query=1&x=2",
    "3.14159 is approximately pi",
    "   leading and trailing spaces   ",
    "UPPER CASE SENTENCE WITH NO PUNCTUATION",
    "naïve café résumé",
    "a",
    "The quick brown fox jumps over the lazy dog.",
    "Semantic search finds documents by meaning rather than keywords.",
    "Embeddings map text to vectors so that similar texts are close.",
]

# About 250 word pieces: a passage of the kind a search index holds.
PASSAGE_250 = (
    "Static sites are collections of files that a web server hands out exactly as they are stored. "
    "Because nothing is computed on the server, they are cheap to host, fast to serve from a content "
    "delivery network, and hard to break into. For a long time this meant that anything interactive, "
    "and certainly anything involving machine learning, needed a server somewhere: the page would send "
    "the user's text or image to an API, wait for a model running in a data centre to answer, and show "
    "the result. That design costs money for every request, fails when the network does, and sends data "
    "the user may not want to share to someone else's computer. Modern browsers change the picture. "
    "WebAssembly lets a browser run a full Python interpreter at close to native speed, WebGPU gives pages "
    "access to the graphics card for general computation, and service workers with IndexedDB let a site "
    "keep large files on the device and work offline. Put together, a model's weights can be downloaded "
    "once, verified, stored, and then run entirely on the visitor's own hardware every time after that. "
    "Nothing about the visitor's text ever has to leave the device, and the site keeps working on a plane."
)

# Far more than 256 word pieces: must be truncated the way sentence-transformers truncates.
PASSAGE_LONG = " ".join([PASSAGE_250] * 3)

SENTENCES = SHORT + [PASSAGE_250, PASSAGE_LONG]
