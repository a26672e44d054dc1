"""Token ids of Gemma 3 270M's tokenizer on a varied corpus, for the Swift parity test.

Hugging Face `tokenizers` (the Rust library behind `AutoTokenizer`) encodes every string below
and decodes the ids again; both go into Tests/AttnCoreTests/Fixtures/gemma3-tokenizer.json:

    {"tokenizers": "0.23.3", "transformers": "5.23.0", "model": "gemma-3-270m", ...,
     "adds_bos": true, "bos_id": 2,
     "cases": [{"text": "Hello, world!", "ids": [9259, 236764, 1902, 236888],
                "decoded": "Hello, world!"}, ...],
     "bos_cases": [{"text": "Hello", "ids": [2, 9259]}, ...],
     "decode_cases": [{"ids": [...], "decoded": "..."}, ...]}

`SentencePieceTokenizerTests.swift` encodes the same texts with `SentencePieceTokenizer` and
expects the same ids (without BOS), and decodes them and expects the same text. Python runs once,
here; the committed fixture is all the tests need.

What transformers builds from the GGUF
--------------------------------------
The file says `tokenizer.ggml.model = "llama"` (SentencePiece) and holds 262,144 tokens with
scores and types, but no merges. For the architectures gemma, gemma2 and gemma3, transformers
(`integrations/gguf/gguf_tokenizer_mapping.py`, `gemma_tokenizer`) builds a `GemmaTokenizer`:

    normalizer      Replace " " → "▁"                 (no prefix space)
    pre_tokenizer   Split " ", merged_with_previous   (a no-op: no " " is left after the normalizer)
    model           BPE, byte_fallback, unk "<unk>", fuse_unk, merges rebuilt from the vocabulary
    decoder         Replace "▁" → " ", ByteFallback, Fuse
    post_processor  TemplateProcessing "<bos> $A"     (add_bos_token)
    added tokens    every CONTROL token (type 3), special; every USER_DEFINED token (type 4) that
                    is in the vocabulary as spelled, not special; all matched in the raw text

Before that, a token made only of whitespace that holds a space (the 30 tokens "  " … 31 spaces,
stored with real spaces) is respelled "▁▁" … so that it is what the normalizer makes. The merges
are `generate_merges(vocab, {token: -index})`: every split of a token into two tokens, ordered by
the index of the token they make (earlier first; the scores in the file are not used), then by
the longer left part. The script asserts that order on the 514,906 merges.

The script also asserts that `tokenizer(text)` is `[2] + ids` for every text (BOS added) and
that transformers' `decode` equals `tokenizers`' `decode(ids, skip_special_tokens=False)`.

Usage, from the repository root (a venv outside the repository; see requirements.txt):

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install -r Tests/Reference/requirements.txt
    /tmp/refvenv/bin/python Tests/Reference/gemma3_tokenizer.py [GGUF_FILE] [OUT_FILE]

GGUF_FILE defaults to $ATTN_MODELS/gemma3/gemma-3-270m-q4_k_m.gguf, else under
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
from transformers import AutoTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.dont_write_bytecode = True  # no __pycache__ in the repository
from smollm2_tokenizer import CORPUS as SMOLLM2_CORPUS  # noqa: E402
from smollm2_tokenizer import readable_json  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
GGUF_NAME = "gemma-3-270m-q4_k_m.gguf"


def default_gguf_file() -> Path:
    if os.environ.get("ATTN_MODELS"):
        root = Path(os.environ["ATTN_MODELS"])
    elif os.environ.get("XDG_CACHE_HOME"):
        root = Path(os.environ["XDG_CACHE_HOME"]) / "attn" / "models"
    else:
        root = Path.home() / ".cache" / "attn" / "models"
    return root / "gemma3" / GGUF_NAME


# ---------------------------------------------------------------------------------------------
# The corpus. Each group exercises one part of the tokenizer; comments say what HF does.
# Between the added tokens, the whole text is one "word" for BPE: spaces become "▁" and
# nothing else splits it, so merges can cross what a reader would call word boundaries.
# ---------------------------------------------------------------------------------------------

PROSE = [
    "Hello, world!",
    "Hello world",
    "The capital of France is Paris.",
    "The cat sat on the mat.",
    "Attention is all you need.",
    "Each token looks at every other token and decides what to take from it.",
    "Queries ask, keys answer, values are what gets passed along.",
    "The quick brown fox jumps over the lazy dog.",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG.",
    "tHe QuIcK bRoWn FoX",
    "Gemma is a family of lightweight open models from Google.",
    "It was the best of times, it was the worst of times.",
    "To be, or not to be: that is the question.",
    "don't can't won't I'm you're they've we'll she'd",
    "SentencePiece treats the input as a raw stream of characters.",
    "unbelievable antidisestablishmentarianism Supercalifragilisticexpialidocious",
    "a", "I", " a", "the", " the", "The", "  the", "Paris", " Paris", "▁Paris",
]

CODE = [
    # Python: indentation with spaces becomes runs of "▁", which have tokens of their own.
    "def f(x):\n    return x * 2\n",
    "class Attention:\n    def __init__(self, d):\n        self.scale = d ** -0.5\n",
    "for i in range(10):\n\tif i % 2 == 0:\n\t\tprint(i)",
    "import numpy as np\nx = np.zeros((3, 4), dtype=np.float32)",
    "if __name__ == \"__main__\":\n    main()",
    "    x = 1  # four spaces, then two before the comment",
    # Swift
    "let scores = q.matmul(k.transposed()) / sqrt(Float(d))",
    "public struct Token: Sendable {\n    let id: Int\n    let text: String\n}\n",
    "func softmax(_ x: [Float]) -> [Float] {\n    let m = x.max() ?? 0\n    return x.map { exp($0 - m) }\n}",
    "guard let value else { throw AttnError.noTokens }",
    # JSON, indented two and four deep
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null, \"b\": true}}",
    "{\n  \"name\": \"gemma\",\n  \"layers\": 18,\n  \"heads\": {\n    \"q\": 4,\n    \"kv\": 1\n  }\n}",
    # other languages and shells
    "#include <stdio.h>\nint main(void) { printf(\"hi\\n\"); return 0; }",
    "SELECT name, COUNT(*) FROM users WHERE age >= 18 GROUP BY name;",
    "$ git commit -m 'Fix the tokenizer' && git push origin main",
    "fn main() -> Result<(), Box<dyn Error>> {\n    Ok(())\n}",
    "<html><body><p class=\"x\">Hi</p></body></html>",
    "<table><tr><td>1</td><td>2</td></tr></table>",
    "<div><span>text</span></div>",
    "camelCaseIdentifier snake_case_identifier SCREAMING_CASE kebab-case",
    "a => b; c -> d; e <= f; g != h; i == j; k === l",
    "# Heading\n\n* item one\n* item two\n\n**bold** _italic_ `code`",
    "| a | b |\n|---|---|\n| 1 | 2 |",
]

CJK = [
    "中文", "你好，世界！", "我爱自然语言处理。", "机器学习", "中文English混合", "abc中文def",
    "龘", "𠀀𪛖 (Extension B)", "丌丒 (rare ideographs)", "ｆｕｌｌｗｉｄｔｈ　ＡＢＣ", "「引用」『二重』",
    "注意力机制是变换器的核心。",
]

JAPANESE = [
    "日本語のテキスト", "ひらがな カタカナ", "東京は日本の首都です。", "漢字かな交じり文",
    "ｶﾀｶﾅ (half-width)", "〜〒〶", "わたしはガンマです。",
]

KOREAN = [
    "한국어", "안녕하세요", "\u1112\u1161\u11ab (decomposed Hangul)", "가갂갃 (rare syllables)",
    "주의 메커니즘", "서울특별시",
]

ARABIC = [
    "مرحبا بالعالم", "السَّلَامُ عَلَيْكُمْ", "العربية 123", "٠١٢٣٤٥٦٧٨٩", "mixed عربي and English",
    "\u0600\u0601 (Arabic number signs)",
]

HINDI = [
    "नमस्ते दुनिया", "हिन्दी में लिखा", "१२३", "क्षत्रिय", "ऄ (rare letter)",
]

OTHER_SCRIPTS = [
    "Привет, мир!", "Ελληνικά", "שלום עולם", "สวัสดีชาวโลก", "გამარჯობა", "வணக்கம்",
    "ሰላም", "ᏣᎳᎩ", "བོད་ཡིག", "Tiếng Việt có dấu",
]

EMOJI = [
    "😀", "😀😃😄", "I ❤ you", "I ❤️ you", "👍", "👍🏽", "👋🏿 hi",
    # ZWJ sequences
    "👨‍👩‍👧‍👦", "👩‍💻", "🧑‍🤝‍🧑", "🏳️‍🌈", "👁️‍🗨️",
    # flags (regional indicators) and a tag sequence
    "🇫🇷", "🇺🇸🇬🇧🇯🇵", "🏴󠁧󠁢󠁥󠁮󠁧󠁿",
    # keycaps: digit, U+FE0F, U+20E3
    "1️⃣ 2️⃣ #️⃣", "*️⃣",
    "🔥🔥🔥", "emoji😀inside", "😀 ", " 😀", "🤖🧠💬", "🫠🫡🪿", "🀄 🃏",
]

# Spaces become "▁" and runs of them merge ("▁▁" … 31 of them are tokens); "\n" runs and "\t"
# runs up to 31 are added tokens, cut out whole before anything else.
WHITESPACE = [
    " ", "  ", "   ", "    ", "        ", " " * 31, " " * 32, " " * 40,
    "\t", "\t\t", "\t" * 31, "\t" * 32, "\n", "\n\n", "\n\n\n", "\n" * 31, "\n" * 32,
    "\r", "\r\n", "\r\n\r\n", " \n ", "\n \n", "\t \t", " \t\n",
    "a b", "a  b", "a   b", "a\tb", "a\t\tb", "a\nb", "a\n\nb", "a\r\nb", "a \nb", "a\n b",
    "  leading spaces", "trailing spaces  ", " both ", "\tleading tab", "trailing tab\t",
    "\nleading newline", "trailing newline\n", "\n\n  mixed\t \n", "line one\nline two\n",
    "a\u00a0b", "a\u00a0\u00a0b", "ideographic\u3000space", "a\u2009thin\u2009space",
    "line\u2028separator", "para\u2029graph", "a\u000bb", "a\u000cb", "a\u0085b", "\u2003em",
]

NUMBERS = [
    "0", "7", "42", "123", "1234", "12345678", "1234567890", "3.14159", "2.71828182845904523536",
    "1,000,000", "1 000 000", "-17", "+3", "1e-9", "6.02e23", "0x1F", "2024-11-22", "12:34:56",
    "$19.99", "€5", "100%", "1st 2nd 3rd 4th", "v1.2.3", "a1b2c3",
    "9999999999999999999999999999999999999999",
    "31415926535897932384626433832795028841971693993751058209749445923078164062862089986280",
    "x² + y² = z²", "½ ¼ ¾", "①②③", "１２３",
]

PUNCTUATION = [
    "!", "!!", "!!!", "?!?!", "...", "....", "…", "---", "—", "a—b", "***", "(a)", "[[x]]",
    "{{y}}", "<<<>>>", "@#$%^&*", "«guillemets»", "“curly quotes”", "¿Qué?", "¡Hola!",
    "~~~", "```", "###", "====", "____", "-->", "<!-- -->", "!!!???...,,,;;;:::",
    "→ ← ↑ ↓", "±√∞≈≠≤≥", "∀x∈ℝ: x²≥0",
]

URLS = [
    "https://ai.google.dev/gemma",
    "https://huggingface.co/google/gemma-3-270m",
    "http://example.com/path?query=1&other=two#frag",
    "user.name+tag@example.co.uk",
    "ftp://files.example.org/pub/file.tar.gz",
    "www.example.com/very/long/path/with-dashes_and_underscores/index.html",
]

ACCENTS = [
    "café", "naïve", "résumé", "façade", "Ångström", "über", "Straße", "crème brûlée",
    "Dvořák", "Łódź", "İstanbul ıi", "Þórr Æsir", "São Paulo",
    # combining marks: decomposed forms are not composed (there is no NFC/NFKC normalizer)
    "e\u0301 (e + combining acute)", "cafe\u0301", "\u0301abc (leading combining mark)",
    "a\u0308\u0301", "Zalgo: Z\u0336\u0321a\u0337l\u0338g\u0335o\u0334", "n\u0303",
    "\u034f (grapheme joiner)", "a\u0363 (combining latin small a)",
]

# Characters without a token of their own fall back to one token per UTF-8 byte, <0xXX>.
BYTE_FALLBACK = [
    "\x00", "a\x00b", "\x04", "\x06\x07", "\x0e\x0f", "\x1c\x1d\x1e", "\x7f\x84\x85",
    "\u0132", "\u0180\u0181", "\u0590", "\u0900", "\u1113", "\u2000\u2001", "\u3000",
    "\u4e0c", "\uac02\uac03", "\ue00b", "\uf900", "\ufe00\ufe01", "\U0001f000",
    "\U00020000", "\U0002a700", "\U00030000", "\U000e0000", "\U000e0001", "\U0010ffff",
    "a\U0010ffffb", "x\u4e0cy\u4e0cz", "mixed \u0180 fallback \U0001f000 in text",
]

CONTROL = [
    "\x01\x02\x03", "\x1b[31mred\x1b[0m", "\x08backspace", "bell\x07", "\ufeffBOM",
    "soft\u00adhyphen", "\u202eright-to-left override", "a\u200bb", "a\u200db", "a\u2060b",
    # private use: some have tokens, others fall back to bytes
    "\ue000 private use", "\ue000\ue001\ue00b", "\U000f0000", "\U00100000", "\ufffd", "\ufffe\uffff",
]

# Control tokens (type 3) and user-defined tokens (type 4) typed in the text are cut out whole,
# leftmost first and longest at a position; near misses are plain text.
SPECIAL = [
    "<bos>", "<eos>", "<pad>", "<unk>", "<mask>", "<bos><bos>", "<eos>x<bos>",
    "<start_of_turn>user\nHello!<end_of_turn>\n<start_of_turn>model\n",
    "<bos><start_of_turn>user\nWhat is the capital of France?<end_of_turn>\n"
    "<start_of_turn>model\nParis.<end_of_turn>",
    "<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<end_of_image>", "[multimodal]",
    "<unused0>", "<unused99>", "<unused6241>", "<unused6242>", "<unused10>0",
    "abc<eos>def", "a <eos> b", " <bos> ", "<start_of_turn", "start_of_turn>", "<START_OF_TURN>",
    "< bos>", "<bos >", "<<bos>>", "<bos>>", "<table>", "<h1>Title</h1>", "<b>bold</b><i>it</i>",
    "<img>", "</footer>", "<s>", "<0x41>", "<0x0A>", "<0xFF>", "<0x4>", "▁", "▁▁", "▁▁▁▁",
    "\n\n\n\n<start_of_turn>", "\t\t<eos>\t\t",
]

LONG = [
    "a" * 300,
    "ab" * 200,
    " " * 100,
    "\n" * 50,
    "1234567890" * 30,
    "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch",
    "https://example.com/" + "very-long-path-segment/" * 20,
    # About 700 tokens in one word for BPE.
    " ".join(["Attention lets every token build its new representation as a weighted average "
              "of all the tokens' values. The weights come from a softmax over scaled dot "
              "products of one token's query with every key; masking sets some scores to minus "
              "infinity first, so that a token never attends to the future."] * 12),
]

EDGE = ["", "x", "\"", "-", ".", ",", "😀a", "a😀", "\t ", "0a", "a0", "ǅ", "ß", "ﬁ", "İ"]

OWN = (PROSE + CODE + CJK + JAPANESE + KOREAN + ARABIC + HINDI + OTHER_SCRIPTS + EMOJI
       + WHITESPACE + NUMBERS + PUNCTUATION + URLS + ACCENTS + BYTE_FALLBACK + CONTROL + SPECIAL
       + LONG + EDGE)
# SmolLM2's corpus too (smollm2_tokenizer.py), for breadth: contractions, a dozen more scripts,
# every ASCII and Latin-1 character between two letters, and characters of Unicode 17.0.
CORPUS = OWN + [text for text in SMOLLM2_CORPUS if text not in set(OWN)]

# Texts encoded with the BOS, as `tokenizer(text)` does by default.
BOS_TEXTS = ["", "Hello", "<bos>Hello", "<start_of_turn>user\nHi<end_of_turn>\n", " ", "😀"]


def decode_only(vocab: dict[str, int]) -> list[list[int]]:
    """Id sequences that only `decode` meets: byte tokens that are not UTF-8, ids out of range."""
    def b(*values: int) -> list[int]:
        return [vocab["<0x%02X>" % v] for v in values]

    a, z = vocab["a"], vocab["z"]
    return [
        b(0xF0, 0x9F),                        # an emoji's first two bytes: one U+FFFD per byte
        b(0xF0, 0x9F) + [a],                  # ... then a letter
        b(0xF0, 0x9F, 0x98) + [a],            # three of four bytes, then a letter
        b(0xF0, 0x9F, 0x98, 0x80),            # all four: 😀
        b(0xE2, 0x82, 0xAC),                  # €
        b(0xE2, 0x82),                        # two of three bytes of €
        b(0xC3, 0xA9, 0x80),                  # é and a stray continuation: the whole run fails
        b(0xC3, 0x61),                        # a lead byte, then "a" as a byte token
        b(0xC3) + [a],                        # a lead byte, then the token "a"
        b(0x41, 0x42),                        # ASCII bytes: "AB"
        b(0xED, 0xA0, 0x80),                  # an encoded surrogate
        b(0xE0, 0x80, 0x80),                  # an overlong form
        b(0xF4, 0x90, 0x80, 0x80),            # above U+10FFFF
        b(0xE4, 0xB8) + [a] + b(0xE4, 0xB8, 0xAD),  # a broken ideograph, a letter, then 中
        b(0xE4, 0xB8, 0xAD) + [262144, 300000] + b(0xE4, 0xB8, 0xAD),  # ids past the end are skipped
        b(0xF0, 0x9F) + [262144] + b(0x98, 0x80),  # ... even inside a run of bytes
        [2, a, 1],                            # control tokens decode as their text
        [2, vocab["▁Paris"]],                 # BOS, then " Paris": the space stays
        [vocab["▁▁"], vocab["▁▁▁▁"], z],      # runs of spaces
        [vocab["\n\n"], vocab["\t"], vocab["<table>"], vocab["[multimodal]"]],
        [0, 3, 4, 106, 105],
        [a, 262144, z],
        [],
    ]


def main() -> None:
    gguf_file = Path(sys.argv[1]) if len(sys.argv) > 1 else default_gguf_file()
    out_file = (Path(sys.argv[2]) if len(sys.argv) > 2
                else REPO / "Tests/AttnCoreTests/Fixtures/gemma3-tokenizer.json")

    tokenizer = AutoTokenizer.from_pretrained(str(gguf_file.parent), gguf_file=gguf_file.name)
    backend = tokenizer.backend_tokenizer

    # What transformers built (see the docstring).
    built = json.loads(backend.to_str())
    assert built["normalizer"] == {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}
    assert built["pre_tokenizer"] == {"type": "Split", "pattern": {"String": " "},
                                      "behavior": "MergedWithPrevious", "invert": False}
    model = built["model"]
    assert model["type"] == "BPE" and model["byte_fallback"] is True and model["fuse_unk"] is True
    assert model["unk_token"] == "<unk>" and model["dropout"] is None
    assert model["ignore_merges"] is False and model["continuing_subword_prefix"] is None
    assert [d["type"] for d in built["decoder"]["decoders"]] == ["Replace", "ByteFallback", "Fuse"]
    assert [s for s in built["post_processor"]["single"]] == [
        {"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]
    added = built["added_tokens"]
    assert not any(t["normalized"] or t["lstrip"] or t["rstrip"] or t["single_word"] for t in added)
    assert sum(t["special"] for t in added) == 6249 and sum(not t["special"] for t in added) == 135

    # The merges: every split of a token into two tokens, by the id of the token they make,
    # then the longer left part first.
    vocab = model["vocab"]
    keys = [(vocab[left + right], -len(left)) for left, right in model["merges"]]
    assert keys == sorted(keys) and len(set(keys)) == len(keys) == 514906

    assert len(CORPUS) == len(set(CORPUS)), "duplicate corpus entries"
    cases = []
    for text in CORPUS:
        ids = backend.encode(text, add_special_tokens=False).ids
        # transformers adds the BOS, and nothing else.
        assert tokenizer(text)["input_ids"] == [tokenizer.bos_token_id] + ids, f"BOS of {text!r}"
        decoded = backend.decode(ids, skip_special_tokens=False)
        assert tokenizer.decode(ids) == decoded, f"transformers' decode differs on {text!r}"
        cases.append({"text": text, "ids": ids, "decoded": decoded})

    bos_cases = [{"text": text, "ids": tokenizer(text)["input_ids"]} for text in BOS_TEXTS]
    decode_cases = []
    for ids in decode_only(vocab):
        decoded = backend.decode(ids, skip_special_tokens=False)
        assert tokenizer.decode(ids) == decoded, f"transformers' decode differs on {ids}"
        decode_cases.append({"ids": ids, "decoded": decoded})

    fixture = {
        "tokenizers": tokenizers.__version__,
        "transformers": transformers.__version__,
        "model": "gemma-3-270m",
        "gguf": gguf_file.name,
        "gguf_sha256": hashlib.sha256(gguf_file.read_bytes()).hexdigest(),
        "adds_bos": tokenizer("Hello")["input_ids"][:1] == [tokenizer.bos_token_id],
        "bos_id": tokenizer.bos_token_id,
        "merges": len(model["merges"]),
        "cases": cases,
        "bos_cases": bos_cases,
        "decode_cases": decode_cases,
    }
    # One case per line: small diffs when the corpus grows.
    lists = ("cases", "bos_cases", "decode_cases")
    head = readable_json({k: v for k, v in fixture.items() if k not in lists})
    text = head[:-1]
    for index, name in enumerate(lists):
        text += (", " if index == 0 else "\n], ") + f'"{name}": [\n'
        text += ",\n".join("    " + readable_json(case) for case in fixture[name])
    text += "\n]}\n"
    out_file.write_text(text, encoding="utf-8")

    # The file must read back as exactly what we meant to write.
    assert json.loads(out_file.read_text(encoding="utf-8")) == fixture
    print(f"{len(cases)} cases ({len(OWN)} of Gemma's own), {len(bos_cases)} with BOS, "
          f"{len(decode_cases)} decode cases, tokenizers {tokenizers.__version__} → {out_file}")


if __name__ == "__main__":
    main()
