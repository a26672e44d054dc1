"""Token ids of SmolLM2-135M-Instruct's tokenizer on a varied corpus, for the Swift parity test.

Hugging Face `tokenizers` (the Rust library behind `AutoTokenizer`) encodes every string below
and decodes the ids again; both go into Tests/AttnCoreTests/Fixtures/smollm2-tokenizer.json:

    {"tokenizers": "0.23.3", "transformers": "5.23.0", "model": "SmolLM2-135M-Instruct", ...,
     "cases": [{"text": "Hello, world!", "ids": [19556, 28, 905, 17], "decoded": "Hello, world!",
                "pieces": ["Hello", ",", " world", "!"]}, ...],
     "decode_cases": [{"ids": [...], "decoded": "..."}, ...]}

`BPETokenizerTests.swift` encodes the same texts with `BPETokenizer` and expects the same ids, and
decodes them and expects the same text; `PreTokenizer.smollm` must cut each text into the same
pieces as Hugging Face's pre-tokenizer. Python runs once, here; the committed fixture is all the
tests need.

Which Hugging Face tokenizer
----------------------------
attn reads SmolLM2 from a GGUF file, which holds the vocabulary and merges but no tokenizer.json.
transformers builds a tokenizer from a GGUF (`AutoTokenizer.from_pretrained(dir, gguf_file=...)`),
and we use that for the vocabulary, the merges, the special tokens and the decoder. Its
pre-tokenizer, though, is not SmolLM2's: transformers knows no `tokenizer.ggml.pre = "smollm"`, so
it falls back to GPT-2's plain `ByteLevel` regex. SmolLM2's own tokenizer.json on the Hub (and
llama.cpp's `LLAMA_VOCAB_PRE_TYPE_SMOLLM`) first isolates every digit:

    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": true},
        {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}]}

The two disagree wherever whitespace meets a digit: "a  1" is `a`, `ĠĠ`, `1` for SmolLM2 but
`a`, `Ġ`, `Ġ`, `1` with the GPT-2 regex alone. We install SmolLM2's pre-tokenizer, so "ids" are
what the model was trained on; where the fallback would differ, the case also records its ids as
"gpt2_ids" (the Swift tokenizer with `preTokenizer: "gpt2"` must give those).

Neither adds a BOS token: the GGUF says `tokenizer.ggml.add_bos_token = false` and the tokenizer's
post-processor adds nothing. The script asserts that `tokenizer(text)` equals
`encode(text, add_special_tokens=False)` for every text.

Usage, from the repository root (a venv outside the repository; torch is the CPU wheel):

    python3 -m venv /tmp/bpevenv
    /tmp/bpevenv/bin/pip install torch==2.13.0 transformers==5.23.0 tokenizers==0.23.3 gguf==0.19.0
    /tmp/bpevenv/bin/python Tests/Reference/smollm2_tokenizer.py [GGUF_FILE] [OUT_FILE]

GGUF_FILE defaults to $ATTN_MODELS/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf, else under
$XDG_CACHE_HOME/attn/models, else under ~/.cache/attn/models (where `attn fetch` puts it).
The output is deterministic.
"""

import hashlib
import json
import os
import sys
from pathlib import Path

import tokenizers
import transformers
from tokenizers import pre_tokenizers
from transformers import AutoTokenizer
from transformers.convert_slow_tokenizer import bytes_to_unicode

REPO = Path(__file__).resolve().parents[2]
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_gguf_file() -> Path:
    if os.environ.get("ATTN_MODELS"):
        root = Path(os.environ["ATTN_MODELS"])
    elif os.environ.get("XDG_CACHE_HOME"):
        root = Path(os.environ["XDG_CACHE_HOME"]) / "attn" / "models"
    else:
        root = Path.home() / ".cache" / "attn" / "models"
    return root / "smollm2" / GGUF_NAME


# SmolLM2's pre-tokenizer, as its tokenizer.json on the Hub spells it.
SMOLLM2_PRE_TOKENIZER = pre_tokenizers.Sequence([
    pre_tokenizers.Digits(individual_digits=True),
    pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
])

# ---------------------------------------------------------------------------------------------
# The corpus. Each group exercises one part of byte-level BPE; comments say what HF does.
# The GPT-2 regex that ByteLevel splits with, after Digits has isolated every digit:
#   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
# ---------------------------------------------------------------------------------------------

PROSE = [
    "Hello, world!",
    "Hello world",
    "The cat sat on the mat.",
    "The animal didn't cross the street because it was too tired.",
    "Attention is all you need.",
    "A transformer turns a sentence into a sequence of vectors.",
    "Each token looks at every other token and decides what to take from it.",
    "Queries ask, keys answer, values are what gets passed along.",
    "The quick brown fox jumps over the lazy dog.",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG.",
    "tHe QuIcK bRoWn FoX",
    "Time flies like an arrow; fruit flies like a banana.",
    "Colorless green ideas sleep furiously.",
    "It was the best of times, it was the worst of times.",
    "To be, or not to be: that is the question.",
    "Paris is the capital of France.",
    "What is the capital of France?",
    "Gravity is the force by which a planet or other body draws objects toward its center.",
    "Once upon a time, in a land far, far away, there lived a small dragon.",
    "The mitochondria is the powerhouse of the cell.",
    "SmolLM2 is a family of compact language models.",
    "Byte-level BPE never needs an unknown token.",
    "tokenization tokenizer tokenized tokens",
    "unbelievable antidisestablishmentarianism",
    "Supercalifragilisticexpialidocious",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "a",
    "I",
    "A",
    "x y z",
    "Hello",
    " Hello",
    "  Hello",
    "hello",
    "HELLO",
    "the",
    " the",
    "The",
    " The",
    "e.g. i.e. etc. Mr. Mrs. Dr. St.",
    "U.S.A. and the U.K.",
    "Well... maybe; maybe not!",
    "She said: \"No.\"",
    "semi-supervised, state-of-the-art, well-known",
    "New York-based start-up",
]

# Contractions are matched only in lower case, right after the apostrophe: "'S" is not one.
CONTRACTIONS = [
    "don't", "DON'T", "Don't", "it's", "IT'S", "It'S", "we're", "WE'RE", "they've", "THEY'VE",
    "I'm", "I'M", "you'll", "YOU'LL", "she'd", "SHE'D", "can't won't shouldn't",
    "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "'x", "'",
    "''", "'''s", "the dog's bone", "the dogs' bones", "rock 'n' roll", "y'all",
    "'tis the season", "o'clock", "I'd've", "'sup", " 's", " 'll", "it’s (curly apostrophe)",
    "James's", "1990's", "'90s", "isn't it?", "'Hello'", "\"Hello\"",
]

# Digits: every numeric code point becomes a piece of its own before the regex runs.
NUMBERS = [
    "0", "7", "42", "123", "1234", "12345678", "1234567890", "3.14159", "2.71828182845904523536",
    "1,000,000", "1 000 000", "-17", "+3", "1e-9", "6.02e23", "0x1F", "0b1010", "2024-11-22",
    "12:34:56", "(555) 123-4567", "$19.99", "€5", "100%", "1st 2nd 3rd 4th", "v1.2.3",
    "a1b2c3", "abc123def", "x 12", " 1", "  1", "a  1", "a   12", "a\n1", "a\n\n1", "\t1",
    "1 ", "1  ", "1\n", "99 bottles", "9999999999999999999999999999999999999999",
    "31415926535897932384626433832795028841971693993751058209749445923078164062862089986280",
    "x² + y² = z²", "H₂O", "½ ¼ ¾", "Ⅻ Ⅳ ⅷ", "①②③", "١٢٣ ٤٥٦", "१२३", "๑๒๓", "１２３",
    "𝟙𝟚𝟛", "〇一二三", "፩፪", "Room 101.", "3 + 4 = 7", "10^6", "2**10", "7/8", "1:2:3",
    # Unicode 17.0 numbers: Rust's Digits isolates them, but the regex's tables (Unicode 16)
    # do not know them, so they are symbols to it.
    "a\U00011de0b", "\U00011de1\U00011de2", "x\U00016ff4y", "1\U00011de0", "\U00011de0.",
]

# Whitespace: a run before a word gives its last space to the word; a run at the end, or before
# a digit (now the end of a piece), stays whole.
WHITESPACE = [
    " ", "  ", "   ", "    ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r\n", "\r\n\r\n", "\r",
    " \n ", "\n \n", "a b", "a  b", "a   b", "a\tb", "a\t\tb", "a\nb", "a\n\nb", "a\r\nb",
    "a \nb", "a\n b", "a \n b", "trailing space ", "trailing spaces   ", "   leading spaces",
    " both ", "line one\nline two\n", "windows\r\nline\r\nends\r\n", "tab\tseparated\tvalues",
    "mixed \t \n whitespace", "a\u00a0b", "a\u00a0\u00a0b", "ideographic\u3000space",
    "line\u2028separator", "para\u2029graph", "a\u000bb", "a\u000cb", "a\u0085b",
    "a\u2009thin\u2009space", "a\u200bb", "\u2003em", " \t\n\r ", "end.\n", "end.\n\n",
    "  indented\n    more\n\tless", "a . b", "a , b", "( a )",
]

PUNCTUATION = [
    "!", "!!", "!!!", "?!?!", "...", "....", "…", "---", "—", "a—b", "a – b", "***",
    "(a)", "[[x]]", "{{y}}", "<<<>>>", "@#$%^&*", "«guillemets»", "“curly quotes”", "‘single’",
    "¿Qué?", "¡Hola!", "a/b\\c", "x|y", "~~~", "```", "###", "====", "____", "-->", "<!-- -->",
    " ...", " !!!", "word!", "word !", "word ! ", "Wait—what?!", "§ 3.1 ¶ 2", "• bullet", "→ ← ↑ ↓",
    "☺ ☹ ★ ☆", "© ® ™", "°C °F", "±√∞≈≠≤≥", "∀x∈ℝ: x²≥0",
]

CODE = [
    "def f(x):\n    return x * 2\n",
    "def f(*args, **kwargs):\n\tpass",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "let scores = q.matmul(k.transposed()) / sqrt(Float(d))",
    "import numpy as np\nx = np.zeros((3, 4), dtype=np.float32)",
    "if __name__ == \"__main__\":\n    main()",
    "#include <stdio.h>\nint main(void) { printf(\"hi\\n\"); return 0; }",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null, \"b\": true}}",
    "<html><body><p class=\"x\">Hi</p></body></html>",
    "SELECT name, COUNT(*) FROM users WHERE age >= 18 GROUP BY name;",
    "$ git commit -m 'Fix the tokenizer' && git push origin main",
    "ls -la /usr/local/bin | grep -v '^d'",
    "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct",
    "http://example.com/path?query=1&other=two#frag",
    "user.name+tag@example.co.uk",
    "/Users/me/Documents/file_name-v2.final.txt",
    "C:\\Windows\\System32\\drivers\\etc\\hosts",
    "^[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}$",
    "x = a if b else c  # comment",
    "    four spaces\n        eight spaces\n",
    "\t\tdouble tab indent",
    "fn main() -> Result<(), Box<dyn Error>> {\n    Ok(())\n}",
    "camelCaseIdentifier snake_case_identifier SCREAMING_CASE kebab-case",
    "arr[0][1] = obj.method()?.value ?? default",
    "# Heading\n\n* item one\n* item two\n\n**bold** _italic_ `code`",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "a => b; c -> d; e <= f; g != h; i == j; k === l",
    "0.1 + 0.2 != 0.3",
    "x+=1;y-=2;z*=3",
    "@property\ndef name(self) -> str: ...",
]

ACCENTS = [
    "café", "naïve", "résumé", "façade", "Ångström", "über", "Straße", "crème brûlée",
    "Dvořák", "Łódź", "Kraków", "İstanbul ıi", "Þórr Æsir", "señor niño", "São Paulo",
    "Tiếng Việt có dấu", "Ελληνικά", "Привет, мир!", "Ђорђе", "Ūdens", "ñandú",
    "e\u0301 (e + combining acute)", "\u0301abc (leading combining mark)", "a\u0308\u0301",
    "Zalgo: Z\u0336\u0321a\u0337l\u0338g\u0335o\u0334",
]

CJK = [
    "中文", "你好，世界！", "我爱自然语言处理。", "机器学习", "日本語のテキスト", "ひらがな カタカナ",
    "東京は日本の首都です。", "한국어", "안녕하세요", "\u1112\u1161\u11ab (decomposed Hangul)",
    "ｆｕｌｌｗｉｄｔｈ　ＡＢＣ", "「引用」『二重』", "中文English混合", "abc中文def", "龘",
    "\U00020000\U0002a6d6 (Extension B)", "\U0002b73a (Unicode 17 ideograph)", "ㄅㄆㄇ", "〜〒〶",
    "漢字かな交じり文",
]

EMOJI = [
    "😀", "😀😃😄", "I ❤ you", "I ❤️ you", "👍", "👍🏽", "👋🏿 hi",
    "👨‍👩‍👧‍👦", "👩‍💻", "🧑‍🤝‍🧑", "🏳️‍🌈", "🇫🇷", "🇺🇸🇬🇧🇯🇵", "🏴󠁧󠁢󠁥󠁮󠁧󠁿",
    "1️⃣ 2️⃣ #️⃣", "🔥🔥🔥", "emoji😀inside", "😀 ", " 😀", "🐍 Python", "✅ done ❌ failed",
    "🤖🧠💬", "🫠🫡🪿", "👁️‍🗨️",
]

SCRIPTS = [
    "مرحبا بالعالم", "السَّلَامُ عَلَيْكُمْ", "العربية 123", "שלום עולם", "בְּרֵאשִׁית",
    "नमस्ते दुनिया", "हिन्दी में लिखा", "สวัสดีชาวโลก", "ภาษาไทย", "Γειά σου Κόσμε",
    "Здравствуйте", "გამარჯობა", "Բարեւ", "வணக்கம்", "নমস্কার", "ሰላም", "ជំរាបសួរ",
    "ᠮᠣᠩᠭᠣᠯ", "ᏣᎳᎩ", "ᐃᓄᒃᑎᑐᑦ", "བོད་ཡིག", "ꦗꦮ", "mixed עברית and English",
    # Unicode 17.0 letters: unknown to the regex's tables, so symbols to it.
    "\ua7ce\ua7cf", "x\u0c5cy", "\U00010940\U00010941", "a\ua7ceb", "\ua7ce!", " \ua7ce.",
]

CONTROL = [
    "\x00", "a\x00b", "\x01\x02\x03", "\x04", "a\x04b", "!\x04!", "\x06", "\x13\x14", "\x16",
    "\x1d", "\x1b[31mred\x1b[0m", "\x7f", "\x80\x9f", "a\u200db", "\ufeffBOM", "soft\u00adhyphen",
    "\u202eright-to-left override", "a\u2060b", "\x08backspace", "bell\x07",
]

# Odd but valid text. Lone surrogates cannot be encoded (Rust strings cannot hold them).
ODD = [
    "\ufffd", "a\ufffdb", "\\xff\\xfe", "Ã©tÃ© (mojibake)", "\ufffe\uffff", "\U0010ffff",
    "\ue000 private use", "\U000f0000", "\U00040000", "a\U00080000b", "\U00100000",
    "\U000e0001\U000e0041", "ĠĊ", "Ġthe", "ĊĊ", "<0xFF>", "\\u00e9", "ÿþ", "Ā ā ł Ń",
    "\u0000\u0000\u0000",
]

# SmolLM2's 17 special tokens are matched in the raw text, longest at the leftmost position.
SPECIAL = [
    "<|im_start|>", "<|im_end|>", "<|endoftext|>",
    "<|im_start|>user\nHello!<|im_end|>\n",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
    "<|im_end|>\n<|im_start|>user\nWhat is the capital of France?<|im_end|>\n"
    "<|im_start|>assistant\n",
    "<|im_start|>assistant\nThe capital of France is Paris.<|im_end|>",
    "<|im_start|><|im_end|>", "<|im_start|><|im_start|>", "abc<|im_end|>def", "a <|im_end|> b",
    " <|endoftext|> ", "<|endoftext|>The end", "<|im_start|", "|im_start|>", "<|IM_START|>",
    "< |im_start|>", "<|im_start |>", "<<|im_start|>>", "<|im_start|>>", "<repo_name>",
    "<reponame>", "<file_sep>", "<filename>a.py<file_sep>", "<gh_stars>100", "<issue_start>",
    "<issue_comment>", "<issue_closed>", "<jupyter_start><jupyter_text>x<jupyter_code>y"
    "<jupyter_output>z<jupyter_script><empty_output>",
    "<|im_end|>\n<|im_start|>", "1<|im_end|>2",
]

LONG = [
    "a" * 300,
    "ab" * 200,
    "Z" * 513,
    "=" * 300,
    " " * 100,
    "\n" * 50,
    "1234567890" * 30,
    "xq" * 10 + "zvkq" * 60,
    "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch",
    "https://example.com/" + "very-long-path-segment/" * 20,
    # A paragraph of about 1000 words.
    " ".join(["Attention lets every token build its new representation as a weighted average "
              "of all the tokens' values. The weights come from a softmax over scaled dot "
              "products of one token's query with every key; masking sets some scores to minus "
              "infinity first, so that a token never attends to the future."] * 20),
]

EDGE = ["", "x", "\"", "-", ".", ",", "😀a", "a😀", "\t ", "0a", "a0", "'0", "0'",
        " 's'", "\n'", "ǅ", "ß", "ﬁ", "ǈ"]


def systematic() -> list[str]:
    """Every ASCII and Latin-1 code point between two letters, and alone after a space."""
    texts = []
    for code in range(0x01, 0x100):
        texts.append(f"a{chr(code)}b")
    for code in range(0x21, 0x7f):
        texts.append(f" {chr(code)}")
    return texts


CORPUS = (PROSE + CONTRACTIONS + NUMBERS + WHITESPACE + PUNCTUATION + CODE + ACCENTS + CJK
          + EMOJI + SCRIPTS + CONTROL + ODD + SPECIAL + LONG + EDGE)
CORPUS = CORPUS + [text for text in systematic() if text not in set(CORPUS)]


def byte_ids(tokenizer) -> dict[int, int]:
    """The id of the one-byte token of each byte that has one."""
    vocab = tokenizer.get_vocab()
    return {byte: vocab[char] for byte, char in bytes_to_unicode().items() if char in vocab}


def decode_only(tokenizer) -> list[list[int]]:
    """Id sequences whose bytes are not valid UTF-8, and other things only `decode` meets."""
    one = byte_ids(tokenizer)

    def b(*values: int) -> list[int]:
        return [one[v] for v in values]

    a, z = one[ord("a")], one[ord("z")]
    return [
        b(0xF0, 0x9F),                        # an emoji's first two bytes, then the end
        b(0xF0, 0x9F) + [a],                  # ... then a letter
        b(0xF0, 0x9F, 0x98) + [a],            # three of four bytes, then a letter
        b(0xF0, 0x9F, 0x98, 0x80),            # all four: 😀
        b(0xE2, 0x82),                        # two of three bytes of €
        b(0xE2, 0x82, 0xAC),                  # all three: €
        b(0xED, 0xA0, 0x80),                  # an encoded surrogate: three replacement chars
        b(0x80),                              # a lone continuation byte
        b(0x80, 0x80, 0x80) + [a],
        b(0xC3) + [a],                        # a lead byte without its continuation
        b(0xC3, 0xC3, 0xA9),                  # a lead byte, then é
        b(0xE0, 0x80, 0x80),                  # an overlong three-byte form
        b(0xF4, 0x90, 0x80, 0x80),            # above U+10FFFF
        b(0xF0, 0x80, 0x80, 0x80),            # an overlong four-byte form
        b(0xEF, 0xBF, 0xBD),                  # U+FFFD itself
        b(0xE4, 0xB8) + b(0xE4, 0xB8, 0xAD),  # a broken ideograph, then 中
        [a, 49152, z],                        # an id past the vocabulary is skipped
        [1, a, 2],                            # special tokens decode as their text
        [0],
        [],
    ]


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
    gguf_file = Path(sys.argv[1]) if len(sys.argv) > 1 else default_gguf_file()
    out_file = (Path(sys.argv[2]) if len(sys.argv) > 2
                else REPO / "Tests/AttnCoreTests/Fixtures/smollm2-tokenizer.json")

    tokenizer = AutoTokenizer.from_pretrained(str(gguf_file.parent), gguf_file=gguf_file.name)
    backend = tokenizer.backend_tokenizer

    # What transformers built: the plain GPT-2 regex inside ByteLevel, no Digits step.
    built = json.loads(backend.to_str())
    assert built["normalizer"] is None
    assert built["pre_tokenizer"]["type"] == "ByteLevel", built["pre_tokenizer"]
    assert built["model"]["type"] == "BPE" and built["model"]["unk_token"] is None
    assert built["model"]["ignore_merges"] is False and built["model"]["byte_fallback"] is False
    assert built["decoder"]["type"] == "ByteLevel"
    special = [t["content"] for t in built["added_tokens"] if t["special"]]
    assert len(special) == 17 and {"<|endoftext|>", "<|im_start|>", "<|im_end|>"} <= set(special)

    assert len(CORPUS) == len(set(CORPUS)), "duplicate corpus entries"
    gpt2_ids = [backend.encode(text, add_special_tokens=False).ids for text in CORPUS]

    backend.pre_tokenizer = SMOLLM2_PRE_TOKENIZER
    cases = []
    for text, fallback in zip(CORPUS, gpt2_ids):
        ids = backend.encode(text, add_special_tokens=False).ids
        # The tokenizer as transformers calls it by default adds nothing (no BOS, no EOS).
        assert tokenizer(text)["input_ids"] == ids, f"transformers adds tokens to {text!r}"
        decoded = backend.decode(ids, skip_special_tokens=False)
        assert tokenizer.decode(ids) == decoded, f"transformers' decode differs on {text!r}"
        # The pieces BPE sees: what the pre-tokenizer cuts (special tokens are cut out before it,
        # but here it sees them as text, as `PreTokenizer.split` does).
        pieces = [text[start:end] for _, (start, end) in SMOLLM2_PRE_TOKENIZER.pre_tokenize_str(text)]
        assert "".join(pieces) == text, f"pieces of {text!r} do not make it up"
        case = {"text": text, "ids": ids, "decoded": decoded, "pieces": pieces}
        if fallback != ids:
            case["gpt2_ids"] = fallback
        cases.append(case)

    decode_cases = [{"ids": ids, "decoded": backend.decode(ids, skip_special_tokens=False)}
                    for ids in decode_only(backend)]

    fixture = {
        "tokenizers": tokenizers.__version__,
        "transformers": transformers.__version__,
        "model": "SmolLM2-135M-Instruct",
        "gguf": gguf_file.name,
        "gguf_sha256": hashlib.sha256(gguf_file.read_bytes()).hexdigest(),
        "pre_tokenizer": json.loads(backend.to_str())["pre_tokenizer"],
        "adds_bos": tokenizer("Hello")["input_ids"][:1] == [tokenizer.bos_token_id],
        "cases": cases,
        "decode_cases": decode_cases,
    }
    # One case per line: small diffs when the corpus grows.
    head = readable_json({k: v for k, v in fixture.items() if k not in ("cases", "decode_cases")})
    text = (head[:-1] + ', "cases": [\n'
            + ",\n".join("    " + readable_json(case) for case in cases)
            + '\n], "decode_cases": [\n'
            + ",\n".join("    " + readable_json(case) for case in decode_cases)
            + "\n]}\n")
    out_file.write_text(text, encoding="utf-8")

    # The file must read back as exactly what we meant to write.
    assert json.loads(out_file.read_text(encoding="utf-8")) == fixture
    differing = sum("gpt2_ids" in case for case in cases)
    print(f"{len(cases)} cases ({differing} differ under the GPT-2 regex alone), "
          f"{len(decode_cases)} decode cases, tokenizers {tokenizers.__version__} → {out_file}")


if __name__ == "__main__":
    main()
