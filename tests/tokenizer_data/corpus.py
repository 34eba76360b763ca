"""A deterministic corpus (>= 5,000 strings) that stresses tokenizers: every category issue 5 names.

`corpus()` returns the same list on every machine and Python version (seeded `random.Random`, no
`hash()`, no data files). It is both the training text for the repo-built tokenizer.json files and the
parity corpus. `python -m tokenizer_data.corpus` (from tests/) prints counts per category.
"""
import random

WORDS = (
    "the of and to in is you that it he was for on are as with his they at be this have from or one had by "
    "word but not what all were we when your can said there use an each which she do how their if will up "
    "other about out many then them these so some her would make like him into time has look two more write "
    "go see number no way could people my than first water been call who oil its now find long down day did "
    "get come made may part over new sound take only little work know place year live me back give most very "
    "after thing our just name good sentence man think say great where help through much before line right "
    "too mean old any same tell boy follow came want show also around form three small set put end does "
    "another well large must big even such because turn here why ask went men read need land different home "
    "us move try kind hand picture again change off play spell air away animal house point page letter mother "
    "answer found study still learn should America world tokenizer embedding transformer attention gradient "
    "WebGPU Pyodide browser static website inference model vector semantic similarity unbelievably "
    "internationalization antidisestablishmentarianism naïve café résumé coöperate façade jalapeño"
).split()
CONTRACTIONS = ("don't", "I'm", "you're", "we've", "he'll", "she'd", "it's", "can't", "WON'T", "Y'ALL", "'tis",
                "rock'n'roll", "O'Brien", "''quoted''", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d")
CJK = ("自然语言处理是人工智能的一个分支", "我们今天去北京大学参观了图书馆", "東京都は日本の首都です",
       "ひらがなとカタカナとかんじ", "カタカナ・テスト", "한국어 문장을 토큰화합니다", "서울특별시 강남구",
       "中文，标点。符号！", "繁體中文測試：臺灣", "𠀀𠀁𪚥 rare ideographs 𡃁", "ｆｕｌｌｗｉｄｔｈ　ＡＢＣ　１２３")
ARABIC = ("مرحبا بالعالم", "اللغة العربية جميلة جدا", "كتب الطالب الدرس ١٢٣٤ مرة", "السَّلَامُ عَلَيْكُمْ",
          "فارسی: سلام دنیا", "עברית: שלום עולם")
HINDI = ("नमस्ते दुनिया", "हिन्दी भाषा बहुत सुंदर है", "क्षत्रिय त्र ज्ञ श्र", "संस्कृतम् ॐ १२३४",
         "বাংলা ভাষা", "தமிழ் மொழி")
THAI = ("สวัสดีครับ", "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ", "กรุงเทพมหานคร ๑๒๓", "ພາສາລາວ", "ភាសាខ្មែរ")
EMOJI = ("😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🧑🏿‍💻", "❤️", "🇫🇷🇯🇵", "👩‍❤️‍💋‍👨", "🤖🚀✨", "☃", "🫠🥹🪿",
         "1️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "🙂‍↕️")
COMBINING = ("e\u0301", "a\u0300\u0301\u0302", "n\u0303", "Ångström", "A\u030angstro\u0308m", "Zalgo: "
             "Z\u0351\u036b\u0343a\u0300\u0301l\u0317g\u0315o", "Tiếng Việt có dấu", "ǅ ǈ ǋ ﬁ ﬂ ﬃ ㎏ ℌ Ⅻ ½ ²",
             "straße STRASSE ẞ", "ΣΊΣΥΦΟΣ Οδυσσεύς", "İstanbul ıi IİıI", "Ωμέγα ὅτι", "Ⓐⓑⓒ ⒜ ㈱")
CONTROL = ("\x00", "\x01\x02\x03", "\x07bell", "a\x1fb\x1cc", "\x7f", "\x85next", "soft\u00adhyphen",
           "zero\u200bwidth", "zw\u200cnj\u200dj", "\ufeffbom", "rtl\u200f\u202eevil\u202c", "\u2060joiner",
           "line\u2028sep\u2029para", "\ufffdreplacement", "\ue000private\U000F0000", "tag\U000E0041\U000E007F",
           "\u061c\u0600arabic-format", "\U0001D173music")
WHITESPACE = (" ", "  ", "\t", "\n", "\r\n", "\n\n\n", " \t \n ", "\u00a0nbsp\u00a0", "\u3000ideographic\u3000",
              "\u2003em\u2002en\u2009thin", "\u1680ogham", "\x0bvt\x0cff", "trailing   ", "   leading")
SPECIAL_MARKUP = ("[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]", "<s>", "</s>", "<unk>", "<pad>", "<|endoftext|>",
                  "<0x41>", "[cls]", "< s >", "<|endoftext|", "[MASK][MASK]")
CODE = ('def f(x):\n    return x ** 2  # square\n', 'for (let i = 0; i < n; i++) { sum += a[i]; }',
        '{"key": [1, 2.5, null, true], "nested": {"a": "b"}}', '<div class="x">Hello &amp; bye</div>',
        'SELECT * FROM users WHERE id = 42;', '#include <stdio.h>\nint main(void) { return 0; }',
        'fn main() { println!("{}", 1_000u64); }', 'x = [i for i in range(10) if i % 2 == 0]',
        '$ pip install --no-deps pkg==1.2.3 && echo "$HOME"', 'a->b; c=>d; e::f; g!==h; i>>=2;',
        '    indented\n\t\ttabs\n', 'camelCaseIdentifier snake_case_name SCREAMING_CASE kebab-case')


def _english(rng: random.Random, n_words: int) -> str:
    out, sentence_left = [], 0
    for _ in range(n_words):
        if sentence_left == 0:
            sentence_left = rng.randint(3, 18)
            word = rng.choice(WORDS).capitalize()
        else:
            word = rng.choice(WORDS) if rng.random() > 0.06 else rng.choice(CONTRACTIONS)
        sentence_left -= 1
        if sentence_left == 0:
            word += rng.choice(".!?.") if rng.random() > 0.1 else rng.choice((";", "...", ":", "?!"))
        elif rng.random() < 0.08:
            word += ","
        out.append(word)
    return " ".join(out)


def _url(rng: random.Random) -> str:
    host = rng.choice(("example.com", "www.example.org", "sub.domain.co.uk", "localhost:8000", "192.168.0.1"))
    path = "/".join(rng.choice(WORDS).lower() for _ in range(rng.randint(0, 4)))
    query = "&".join(f"{rng.choice(WORDS)}={rng.randint(0, 999)}" for _ in range(rng.randint(0, 3)))
    url = f"{rng.choice(('https', 'http', 'ftp'))}://{host}/{path}" + (f"?{query}" if query else "")
    return url + (f"#{rng.choice(WORDS)}" if rng.random() < 0.3 else "")


def _number(rng: random.Random) -> str:
    kind = rng.randrange(9)
    if kind == 0:
        return str(rng.randint(0, 10 ** rng.randint(1, 30)))
    if kind == 1:
        return f"{rng.uniform(-1e6, 1e6):.{rng.randint(0, 8)}f}"
    if kind == 2:
        return f"{rng.uniform(-1, 1):.3e}"
    if kind == 3:
        return f"{rng.randint(1, 999):,}{rng.randint(0, 999):03d},{rng.randint(0, 999):03d}"
    if kind == 4:
        return f"+1 ({rng.randint(200, 999)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
    if kind == 5:
        return f"{rng.randint(1900, 2099)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T12:34:56Z"
    if kind == 6:
        return f"{rng.randint(0, 100)}% of ${rng.randint(0, 10**6)}.{rng.randint(0, 99):02d} ≈ €{rng.random():.2f}"
    if kind == 7:
        return "".join(rng.choice("٠١٢٣٤٥٦٧٨٩०१२३४५६७८९௧௨①②³¼") for _ in range(rng.randint(1, 8)))
    return f"0x{rng.getrandbits(32):08X} 0b{rng.getrandbits(8):08b} 1e-{rng.randint(1, 20)}"


def _random_code_points(rng: random.Random, n: int) -> str:
    """Any scalar value, assigned or not: checks the character tables, not just common text."""
    out = []
    for _ in range(n):
        plane = rng.choice((0, 0, 0, 1, 1, 2, 3, 14, 15))
        cp = plane * 0x10000 + rng.randrange(0x10000)
        out.append(chr(cp) if not 0xD800 <= cp <= 0xDFFF else "?")
    return "".join(out)


def _mixed(rng: random.Random) -> str:
    pools = (CJK, ARABIC, HINDI, THAI, EMOJI, COMBINING, CONTROL, WHITESPACE, SPECIAL_MARKUP, CODE, CONTRACTIONS)
    parts = []
    for _ in range(rng.randint(2, 8)):
        r = rng.random()
        if r < 0.3:
            parts.append(_english(rng, rng.randint(1, 6)))
        elif r < 0.4:
            parts.append(_number(rng))
        elif r < 0.45:
            parts.append(_url(rng))
        else:
            parts.append(rng.choice(rng.choice(pools)))
    return rng.choice(("", " ", "  ", "\n", "")).join(parts)


def _category_strings(rng: random.Random) -> dict[str, list[str]]:
    cats: dict[str, list[str]] = {}
    # English across lengths: 1 word .. ~3,000 words (far beyond any model's max length)
    lengths = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597, 3000]
    cats["english"] = [_english(rng, rng.choice(lengths[:10])) for _ in range(1400)]
    cats["english_long"] = [_english(rng, n) for n in lengths[9:] for _ in range(8)]
    scripts = {"cjk": CJK, "arabic": ARABIC, "hindi": HINDI, "thai": THAI, "emoji": EMOJI,
               "combining": COMBINING, "control": CONTROL, "whitespace": WHITESPACE,
               "special_markup": SPECIAL_MARKUP, "code": CODE}
    for name, pool in scripts.items():
        seen = list(pool)  # every literal once, then random joins of them with English glue
        for _ in range(220):
            k = rng.randint(1, 5)
            glue = rng.choice(("", " ", "\n", " and ", ", "))
            seen.append(glue.join(rng.choice(pool) for _ in range(k)) + (" " + _english(rng, 3)
                                                                         if rng.random() < 0.4 else ""))
        cats[name] = seen
    cats["whitespace_runs"] = ["".join(rng.choice(" \t\n\r\u00a0\u3000\u2009") for _ in range(rng.randint(1, 40)))
                               + rng.choice(("", "x", " end", "\n")) for _ in range(150)]
    cats["urls"] = [_url(rng) for _ in range(250)]
    cats["numbers"] = [_number(rng) for _ in range(300)]
    cats["random_code_points"] = [_random_code_points(rng, rng.randint(1, 40)) for _ in range(250)]
    cats["mixed"] = [_mixed(rng) for _ in range(900)]
    cats["edge"] = ["", " ", "a", "A", "'", "''", "'s", "Σ", "ΣΑΣ", "...", "##", "##a", "▁", "▁▁x", "<0xFF>",
                    "\u0301", "\u0301a", "x" * 300, "x " * 300, "😀" * 120, "的" * 400, "a\u0301" * 150,
                    "!" * 50, " " * 200, "\n" * 100, "1" * 120]
    return cats


def corpus_by_category() -> dict[str, list[str]]:
    return _category_strings(random.Random(20260521))


def corpus() -> list[str]:
    """The flat parity/training corpus, in a fixed order."""
    return [s for strings in corpus_by_category().values() for s in strings]


def describe(s: str, limit: int = 80) -> str:
    """How a failing test names a string: its index-free repr, shortened, with its length."""
    r = repr(s)
    return (r if len(r) <= limit else r[:limit] + "...") + f" (len {len(s)})"


if __name__ == "__main__":
    cats = corpus_by_category()
    for name, strings in cats.items():
        print(f"{name:20s} {len(strings):5d} strings {sum(map(len, strings)):8d} chars")
    print(f"{'total':20s} {sum(map(len, cats.values())):5d}")
