"""Token ids of all-MiniLM-L6-v2's tokenizer on a varied corpus, for the Swift parity test.

Hugging Face `tokenizers` (the Rust library behind `AutoTokenizer`) encodes every string below
with the model's own tokenizer.json, and the ids go into
Tests/AttnCoreTests/Fixtures/minilm-tokenizer.json:

    {"tokenizers": "0.23.3", "model": "all-MiniLM-L6-v2",
     "cases": [{"text": "Hello, world!", "ids": [101, 7592, 1010, 2088, 999, 102]}, ...]}

`TokenizerTests.swift` encodes the same texts with `WordPieceTokenizer` and expects the same ids.
Python runs once, here; the committed fixture is all the tests need.

Usage, from the repository root (a venv outside the repository):

    python3 -m venv /tmp/tokvenv && /tmp/tokvenv/bin/pip install tokenizers==0.23.3
    /tmp/tokvenv/bin/python Tests/Reference/minilm_tokenizer.py [MODEL_DIR] [OUT_FILE]

MODEL_DIR defaults to $ATTN_MODELS/minilm, $XDG_CACHE_HOME/attn/models/minilm or
~/.cache/attn/models/minilm (where `attn fetch` puts it).
"""

import json
import os
import sys
from pathlib import Path

import tokenizers
from tokenizers import Tokenizer

REPO = Path(__file__).resolve().parents[2]


def default_model_dir() -> Path:
    if os.environ.get("ATTN_MODELS"):
        root = Path(os.environ["ATTN_MODELS"])
    elif os.environ.get("XDG_CACHE_HOME"):
        root = Path(os.environ["XDG_CACHE_HOME"]) / "attn" / "models"
    else:
        root = Path.home() / ".cache" / "attn" / "models"
    return root / "minilm"


# ---------------------------------------------------------------------------------------------
# The corpus. Each group exercises one part of BERT tokenization; comments say what HF does.
# ---------------------------------------------------------------------------------------------

PLAIN = [
    "Hello, world!",
    "The cat sat on the mat.",
    "The animal didn't cross the street because it was too tired.",
    "The animal didn't cross the street because it was too wide.",
    "Attention is all you need.",
    "A transformer turns a sentence into a sequence of vectors.",
    "Each token looks at every other token and decides what to take from it.",
    "Queries ask, keys answer, values are what gets passed along.",
    "She sells sea shells by the sea shore.",
    "I saw the man with the telescope.",
    "Time flies like an arrow; fruit flies like a banana.",
    "The bank raised its interest rates.",
    "We sat on the bank of the river.",
    "Colorless green ideas sleep furiously.",
    "The quick brown fox jumps over the lazy dog.",
    "Tokenizing is fun!",
    "Embeddings, attention heads and feed-forward layers.",
    "Sentence embeddings are useful for semantic search and clustering.",
    "How are you doing today?",
    "It was the best of times, it was the worst of times.",
    "To be, or not to be: that is the question.",
    "All happy families are alike; each unhappy family is unhappy in its own way.",
    "Paris is the capital of France.",
    "The mitochondria is the powerhouse of the cell.",
    "unaffable",
    "antidisestablishmentarianism",
    "tokenization tokenizer tokenized tokens",
    "Supercalifragilisticexpialidocious",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch",
    "a",
    "I",
    "x y z",
]

MIXED_CASE = [
    "ThE QuIcK BrOwN FoX",
    "ALL CAPS SENTENCE HERE",
    "iPhone iPad MacBook",
    "McDonald's O'Reilly D'Angelo",
    "camelCaseIdentifier",
    "snake_case_variable_name",
    "kebab-case-file-name",
    "HTTPServerError",
    "NASA and the ESA",
    "WordPiece BERT MiniLM",
    "ǅemal ǈubljana ǋegoš",  # titlecase digraphs
]

APOSTROPHES_AND_QUOTES = [
    "don't won't can't shouldn't",
    "don’t won’t can’t",  # U+2019, a punctuation mark like '
    "rock 'n' roll",
    "“Hello,” she said.",
    "‘single quotes’",
    "«guillemets» and ‹single›",
    "„German quotes“",
    "「Japanese quotes」『double』",
    "''two apostrophes''",
    "`backticks` and ``double``",
    "´acute accent and ˋgrave",  # U+00B4 and U+02CB are symbols/modifiers, not punctuation
    '"straight double quotes"',
    "the dog's bone, the dogs' bones",
]

PUNCTUATION_RUNS = [
    "!!!",
    "?!?!",
    "...",
    "Wait... what?!",
    "—",
    "em—dash and en–dash",
    "--double-hyphen--",
    "(parentheses) [brackets] {braces} <angles>",
    "#hashtag @mention",
    "50% off!!! $$$",
    "a.b.c.d",
    "!@#$%^&*()_+-=[]{}|;':\",./<>?`~",
    "…",
    "• bullet ‣ triangle ◦ circle",
    "§ 12 ¶ 3",
    "¿Qué? ¡Sí!",
    "***",
    "+++ ---",
    "end.",
    ".start",
    "##ing",
    "##",
    "#1",
]

ACCENTS = [
    "Crème brûlée",
    "café naïve résumé façade",
    "CAFÉ NAÏVE RÉSUMÉ",
    "El niño comió piñata en la montaña.",
    "¿Dónde está la biblioteca?",
    "Über die Brücke gehen Mädchen.",
    "Straße STRASSE ẞ",  # ß stays ß; capital ẞ lowercases to ß
    "São Paulo, Portugal, coração",
    "Tiếng Việt có nhiều dấu.",
    "Zażółć gęślą jaźń",
    "Příliš žluťoučký kůň úpěl ďábelské ódy",
    "İstanbul ışık Iğdır",  # İ: NFD gives I + U+0307, the mark goes, then lowercase
    "Þór og Óðinn",
    "Ærø, Øresund, Åland",
    "Ångström",
    "ﬁnance ﬂow",  # ligatures: no compatibility decomposition (NFD only)
    "e\u0301te\u0301",  # already decomposed
    "\u00e9t\u00e9",  # precomposed
    "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",  # stacked combining marks
    "a\u0301\u0302\u0303\u0304",
    "\u0301starts with a mark",
    "n\u0303",
    "Ç ç Ş ş Ğ ğ",
    "Ελληνικά: ά έ ή ί ό ύ ώ ΐ ΰ",
]

CJK = [
    "你好，世界！",
    "我爱自然语言处理。",
    "注意力机制是变换器的核心。",
    "機器學習與深度學習",  # traditional
    "日本語のテキストです。",
    "ひらがな カタカナ 漢字",
    "トランスフォーマー",
    "東京都渋谷区",
    "ｶﾀｶﾅ",  # half-width katakana
    "ＡＢＣ　１２３",  # full-width Latin and U+3000
    "한국어 텍스트입니다.",
    "안녕하세요, 세계!",
    "ㄱㄴㄷ ㅏㅑ",  # compatibility jamo
    "中文English混合mixed",
    "2024年5月17日",
    "𠀀𠀁",  # CJK Extension B
    "豈更車",  # CJK compatibility ideographs
    "〇一二三",
    "、。〈〉《》",
    "北京大学的学生",
    "ㄅㄆㄇ",  # bopomofo
    "ㄱ ㅏ ㄴ",
]

EMOJI = [
    "😀",
    "I love it ❤️",
    "❤",
    "👍🏽 thumbs up",
    "👨‍👩‍👧‍👦 family",
    "🏳️‍🌈",
    "🇯🇵 🇫🇷 🇺🇸",
    "1️⃣ 2️⃣",
    "🥲 🫠",  # newer emoji (Unicode 13, 14)
    "😀😃😄😁",
    "hello😀world",
    "👩‍💻 writes code",
    "☕ ☀ ★ ☆ ♥",
    "→ ← ↑ ↓",
]

NUMBERS = [
    "3.14159",
    "1,000,000",
    "2024-05-17",
    "17/05/2024",
    "12:30pm",
    "$19.99",
    "€5 £10 ¥100 ₹50",
    "50%",
    "1e-9",
    "0x1F",
    "+44 20 7946 0958",
    "Ⅻ Ⅳ ⅷ",
    "x² + y³",
    "½ ¼ ¾",
    "１２３",
    "٠١٢٣٤ ٥٦٧٨٩",
    "०१२३",
    "123456789012345678901234567890",
    "3rd 21st 42nd",
    "v1.2.3-beta",
    "-5 +5 ±5",
    "1990s",
]

URLS_AND_EMAILS = [
    "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2",
    "http://www.example.com/path/to/page.html?query=1&b=2#fragment",
    "mailto:someone@example.com",
    "user.name+tag@sub.example.org",
    "ftp://files.example.net/pub/README.txt",
    "www.wikipedia.org",
    "C:\\Users\\attn\\Documents",
    "/usr/local/bin/attn",
    "@user_name #topic",
]

CODE = [
    "for i in range(10): print(i)",
    "let x = [1, 2, 3].map { $0 * 2 }",
    "if (a && b) || !c { return }",
    "#include <stdio.h>",
    "SELECT * FROM users WHERE id = 1;",
    "x->y = *p++;",
    "a == b != c",
    "def f(*args, **kwargs):",
    '<div class="x">hi</div>',
    '{"key": [1, 2.5, null]}',
    "^\\d+$",
    "ls -la | grep foo > out.txt",
    "\\frac{a}{b}",
    "softmax(QK^T / sqrt(d_k)) V",
    "std::vector<int> v;",
    "console.log(`value: ${x}`);",
]

WHITESPACE = [
    "",
    " ",
    "   ",
    "\t",
    "\n",
    "\r\n",
    "\t \n \r ",
    "a\tb",
    "a\nb",
    "a\r\nb",
    "a\u00a0b",  # no-break space
    "a\u2003b",  # em space
    "a\u2009b",  # thin space
    "a\u200bb",  # zero-width space: a format character, removed, so "ab"
    "a\u3000b",  # ideographic space
    "a\u2028b",  # line separator
    "a\u2029b",  # paragraph separator
    "a\u202fb",  # narrow no-break space
    "a\u205fb",
    "a\u1680b",
    "a\u0085b",  # NEL: a control character that is also whitespace; removed, so "ab"
    "a\u000bb",  # vertical tab: the same
    "a\u000cb",  # form feed: the same
    "a\u001cb\u001fc",  # separators that Python calls whitespace; controls here
    "  leading spaces",
    "trailing spaces   ",
    "multiple     spaces   between",
    "\ufeffbyte order mark",
    "\u00a0\u00a0",
]

CONTROL_AND_SPECIAL_CODE_POINTS = [
    "\x00",
    "a\x00b",
    "\x07bell",
    "\x1b[31mred\x1b[0m",
    "a\x7fb",
    "a\x80b\x9fc",  # C1 controls
    "zero\u200dwidth\u200cjoiners",
    "\u200eleft-to-right\u200f",
    "co\u00adoperate",  # soft hyphen, a format character
    "\ufffd",
    "a\ufffdb",
    "private\ue000use\U000f0000",
    "unassigned\u0378\U000e0080",
    "noncharacters\ufdd0\uffff",
    "tag\U000e0041\U000e007f",
    "variation\ufe0fselector",
    "\u2060word\u2061joiner",
    "\u061c",
]

LONG_WORDS = [
    "a" * 99,
    "a" * 100,  # exactly the limit: still split into pieces
    "a" * 101,  # one over: [UNK]
    "ab" * 50,
    "ab" * 50 + "c",
    "é" * 100,
    "é" * 101,  # counted after accent stripping: 101 characters, [UNK]
    "e\u0301" * 60,  # 120 code points as typed, 60 after stripping: not [UNK]
    "antidisestablishmentarianism" * 4,
    "x" * 150 + " short words after",
    "a-" * 60,  # punctuation splits it: no long word at all
    "ꙮ",  # no piece of it is in the vocabulary: [UNK]
    "qqqqqqqqqqqqqqqq",
    "thisisalongwordwithoutanyspacesthatwordpiecemustcutintomanypieces",
]

SCRIPTS = [
    "Καλημέρα κόσμε",
    "ΟΔΟΣ ΣΊΣΥΦΟΣ",  # final sigma: lowercased one code point at a time, so σ
    "Привет, мир! Ёлка и йод.",
    "Україна, Беларусь, Српска",
    "مرحبا بالعالم",
    "مَرْحَبًا",  # harakat are nonspacing marks
    "فارسی گفتگو",
    "שָׁלוֹם עוֹלָם",
    "שלום עולם",
    "नमस्ते दुनिया",
    "हिन्दी भाषा",
    "সবাইকে শুভেচ্ছা",
    "வணக்கம் உலகம்",
    "ನಮಸ್ಕಾರ",
    "สวัสดีชาวโลก",
    "ພາສາລາວ",
    "မင်္ဂလာပါ",
    "ភាសាខ្មែរ",
    "ආයුබෝවන්",
    "გამარჯობა",
    "ᲒᲐᲛᲐᲠᲯᲝᲑᲐ",  # Georgian Mtavruli capitals
    "Բարեւ աշխարհ",
    "ሰላም ለዓለም",
    "བོད་ཡིག",
    "ᠮᠣᠩᠭᠣᠯ",
    "ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ",  # Cherokee capitals lowercase to U+AB70…
    "𐐔𐐯𐑅𐐨𐑉𐐯𐐻",  # Deseret
    "ᚠᚢᚦᚨᚱᚲ",  # runes
    "Ⲁⲗⲫⲁ",
    "ꦗꦮ",
    "ܫܠܡܐ",
    "Türkçe, Azərbaycan, Oʻzbek",
]

MATH = [
    "∀x ∈ ℝ: x² ≥ 0",
    "∑_{i=1}^n i = n(n+1)/2",
    "a ≤ b ≠ c",
    "√2 ≈ 1.414",
    "∞",
    "∂f/∂x",
    "× ÷ ± ∓",
    "𝑥 + 𝑦 = 𝑧",  # mathematical italic: no NFKC, so not plain letters
    "⟨q, k⟩ / √d",
    "softmax(QKᵀ/√dₖ)V",
    "∫₀¹ f(x) dx",
    "A ⊂ B ∪ C ∩ D",
    "¬p ∧ q ∨ r → s",
    "ℵ₀ < 𝔠",
    "α β γ δ ε",
    "°C °F",
]

SPECIAL_TOKENS = [
    # tokenizer.json lists these as added tokens: matched in the raw text, before normalization.
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "[UNK]",
    "[PAD]",
    "hello [MASK] world",
    "The capital of France is [MASK].",
    "x[SEP]y",
    "[CLS][CLS]",
    "[mask] is not special in lower case",
    "[ CLS ]",
    "[MASK",
    "[unused0] is not an added token",
    "[CLS]\u0301",
    "é[SEP]é",
    "[[MASK]]",
]

UNICODE_VERSIONS = [
    # tokenizers' category tables are Unicode 8.0 and its NFD tables 9.0; newer code points are
    # unknown to it, and a few old ones have changed category since.
    "Arabic mark \u08d4 from Unicode 9",
    "hyphen\u2e5ddouble oblique (Unicode 14)",
    "chi sign \u166d split off",
    "Hanunoo \u1734 mark stripped",
    "Sharada \u111c9 sandhi",
    "Mongolian \u1885\u1886",
    "Javanese \ua9bd keret",
    "Ahom \U0001171e medial",
    "Dives Akuru \U00011938 not decomposed",
    "a\U0001d16d\u0300b",
    "x\u2e43y\u2e49z",
    "Nko \u07fd dantayalan",
    "Kawi \U00011f00\U00011f41",
]


def systematic() -> list[str]:
    """Strings made by rule, to cover whole classes of characters."""
    cases = []

    # Every printable ASCII character, between two letters: is it split off, kept, or removed?
    cases += ["x" + chr(c) + "y" for c in range(0x20, 0x7F)]

    # Every Latin-1 Supplement character, the same way (C1 controls, NBSP, symbols, letters).
    cases += ["x" + chr(c) + "y" for c in range(0x80, 0x100)]

    # The edges of every CJK range BERT spaces out (Rust's Extension E starts at U+2B920, not
    # Python's U+2B820), with the code points just outside.
    edges = [
        0x33FF, 0x3400, 0x4DBF, 0x4DC0, 0x4DFF, 0x4E00, 0x9FFF, 0xA000,
        0xF8FF, 0xF900, 0xFAFF, 0xFB00,
        0x1FFFF, 0x20000, 0x2A6DF, 0x2A6E0, 0x2A6FF, 0x2A700, 0x2B73F, 0x2B740,
        0x2B81F, 0x2B820, 0x2B91F, 0x2B920, 0x2CEAF, 0x2CEB0,
        0x2F7FF, 0x2F800, 0x2FA1F, 0x2FA20, 0x30000,
    ]
    cases += ["a" + chr(c) + "b" for c in edges]

    # Words cut by punctuation of every Unicode punctuation category.
    cases += ["word" + p + "word" for p in "_‿-‐–([{)]}«»“”!¿·・、"]
    return cases


CORPUS = (
    PLAIN + MIXED_CASE + APOSTROPHES_AND_QUOTES + PUNCTUATION_RUNS + ACCENTS + CJK + EMOJI
    + NUMBERS + URLS_AND_EMAILS + CODE + WHITESPACE + CONTROL_AND_SPECIAL_CODE_POINTS
    + LONG_WORDS + SCRIPTS + MATH + SPECIAL_TOKENS + UNICODE_VERSIONS + systematic()
    + [
        # Longer than BERT's 512 positions; the Swift test encodes it without a limit.
        " ".join(["The quick brown fox jumps over the lazy dog."] * 60),
        # A paragraph.
        "Attention lets every token build its new representation as a weighted average of all "
        "the tokens' values. The weights come from a softmax over scaled dot products of one "
        "token's query with every key; masking sets some scores to minus infinity first.",
    ]
)


def readable_json(value) -> str:
    """JSON with letters of every script as themselves, and invisible characters escaped.

    Control, format, private-use, unassigned and separator characters (other than the space)
    become \\uXXXX escapes, so the fixture shows where they are; JSON reads both forms the same.
    """
    def escape(character: str) -> str:
        if character.isprintable():
            return character
        encoded = character.encode("utf-16-be")
        return "".join("\\u%04x" % int.from_bytes(encoded[i:i + 2], "big")
                       for i in range(0, len(encoded), 2))

    return "".join(escape(c) for c in json.dumps(value, ensure_ascii=False))


def main() -> None:
    model_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else default_model_dir()
    out_file = (Path(sys.argv[2]) if len(sys.argv) > 2
                else REPO / "Tests/AttnCoreTests/Fixtures/minilm-tokenizer.json")

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    # tokenizer.json asks for truncation to 128 tokens and padding to 128 with [PAD]; the Swift
    # tokenizer does neither (attn reads one sentence, whole), so neither do we here.
    tokenizer.no_truncation()
    tokenizer.no_padding()

    assert len(CORPUS) == len(set(CORPUS)), "duplicate corpus entries"
    cases = []
    for text in CORPUS:
        encoding = tokenizer.encode(text, add_special_tokens=True)
        cases.append({"text": text, "ids": encoding.ids})

    fixture = {
        "tokenizers": tokenizers.__version__,
        "model": "all-MiniLM-L6-v2",
        "cases": cases,
    }
    # One case per line: small diffs when the corpus grows.
    lines = ",\n".join("    " + readable_json(case) for case in cases)
    header = readable_json({k: v for k, v in fixture.items() if k != "cases"})
    out_file.write_text(header[:-1] + ', "cases": [\n' + lines + "\n]}\n", encoding="utf-8")

    # The file must read back as exactly what we meant to write.
    assert json.loads(out_file.read_text(encoding="utf-8")) == fixture
    print(f"{len(cases)} cases, tokenizers {tokenizers.__version__} → {out_file}")


if __name__ == "__main__":
    main()
