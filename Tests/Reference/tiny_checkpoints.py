#!/usr/bin/env python3
"""Tiny GPT-2 and BERT checkpoints with random weights, their tokenizers, and every step of their
forward passes as computed by Hugging Face transformers.

attn reads real checkpoints from the Hugging Face hub cache; the Swift tests need some that are
small enough to commit. This script trains four tiny tokenizers with `tokenizers`, builds six tiny
models with `transformers` (random, seeded weights), saves them as huggingface_hub lays out its
cache, and records each model's forward pass on three sentences, step by step. Python runs once,
here; the committed fixtures are all the Swift tests need. Rerun it to regenerate them (see
Tests/Reference/README.md); a second run changes no byte.

Usage, from the repository root (a venv outside the repository; torch is the CPU wheel):

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
    /tmp/refvenv/bin/pip install -r Tests/Reference/requirements.txt
    /tmp/refvenv/bin/python Tests/Reference/tiny_checkpoints.py [FIXTURES_DIR]

FIXTURES_DIR defaults to Tests/AttnCoreTests/Fixtures. The script deletes and rebuilds its
`hub/` and `tiny/` folders, and rewrites the four `tiny-*-tokenizer.json` files in it;
`--tokenizers-only` stops before the reference steps. A run takes about 25 s.

Tokenizers
----------
All four are trained on the GPL-3 text of Debian's /usr/share/common-licenses/GPL-3 (sha256
checked) plus TRAIN_EXTRA below, repeated, so that merges touch digits, accents, CJK, emoji, code
and contractions in both cases.

    gpt2           byte-level BPE configured as GPT-2's own tokenizer.json; 1000 ids: the 256 bytes
                   in GPT-2's order (0-255), 743 merges (id 256 + i is merge i's result) and
                   <|endoftext|> = 999 (special). Legacy vocab.json + merges.txt ("#version: 0.2"
                   first line) encode the same. No BOS is added.
    bert           uncased WordPiece, 600 ids, [PAD] 0 [UNK] 1 [CLS] 2 [SEP] 3 [MASK] 4;
                   BertNormalizer(lowercase=True, strip_accents=None, so accents are stripped);
                   TemplateProcessing [CLS] $A [SEP]. Legacy vocab.txt + tokenizer_config.json.
    bert-cased     the same with lowercase=False (strip_accents=None: accents are kept).
    bert-stripped  lowercase=False with strip_accents=True: tokenizer.json only, for the tests.

Corpus fixtures: FIXTURES/tiny-{gpt2,bert,bert-cased,bert-stripped}-tokenizer.json, each
{"tokenizers": version, "tokenizer": its tokenizer.json relative to FIXTURES,
 "cases": [{"text", "ids"} ...]} (GPT-2's cases also "decoded"). BERT ids are encoded with
add_special_tokens=True, without truncation or padding.

Models (FIXTURES/hub/models--attn-tiny--NAME/, huggingface_hub's cache layout)
-----------------------------------------------------------------------------
    gpt2          GPT2LMHeadModel, 3 layers, 5 heads of 12, d 60, FFN 240, gelu_new, 64 positions,
                  tied lm_head; save_pretrained: keys "transformer.*", no lm_head.weight.
    gpt2-bf16     another seed, saved in bfloat16.
    gpt2-sharded  another seed, written as openai-community/gpt2's file is: keys without the
                  "transformer." prefix, the causal buffers h.N.attn.bias (float32 tril,
                  (1,1,64,64)), three shards + model.safetensors.index.json, vocab.json +
                  merges.txt only.
    bert          BertModel, 3 layers, 7 heads of 12, d 84, FFN 120, gelu (erf), 64 positions,
                  2 token types, pooler; uncased tokenizer.
    bert-bf16     another seed, bfloat16, gelu_new, cased tokenizer.
    bert-sharded  another seed, BertForMaskedLM (keys "bert.*" and "cls.*"), relu, sharded by
                  save_pretrained; vocab.txt + tokenizer_config.json only (uncased).

Weights are transformers' random init with initializer_range INIT_RANGE, which makes attention
far from uniform, then every LayerNorm weight becomes 1 + 0.1·N(0,1) and every LayerNorm, Linear
and Conv1D bias 0.1·N(0,1) (transformers initializes them to 1 and 0, which would hide a swapped
or missing term).

Blobs are named by sha256 for .safetensors files (Git LFS) and by git's blob sha1 for the
others; snapshots/COMMIT/FILE are relative symlinks ../../blobs/HASH; refs/main holds COMMIT (no
newline), the sha1 of the sorted "FILE HASH" lines, so it changes exactly when a file does.

Reference steps (FIXTURES/tiny/NAME/)
-------------------------------------
Each model is loaded back from its snapshot folder (bf16 ones with dtype=torch.float32, which
widens bf16 exactly) with attn_implementation="eager", and run on three sentences tokenized with
the repository's own files. Forward hooks record each step; the script asserts that they chain
(weights == softmax(masked), concat(z) == the output projection's input, x[L+1] == out[L], rows
sum to 1, ...). All arrays are little-endian float32, C order, written with np.save;
T = tokens, L = 3 layers, H heads, dₕ = 12, d = model width, V = vocabulary size.

    sentences.json  repo id, snapshot commit, checkpoint dtype, library versions, mean row
                    maximum of the attention weights; per sentence name, text, ids, tokens
                    (GPT-2 also: top5 next tokens with probabilities, greedy_ids from
                    generate(max_new_tokens=10, do_sample=False), argmax10_ids from a 10-step
                    argmax loop without cache or EOS stop; greedy_ids is a prefix of it)

  GPT-2, s{0,1,2}/:
    token_embeddings.npy     (T, d)        wte[ids]
    position_embeddings.npy  (T, d)        wpe[0 ..< T]
    embeddings.npy           (T, d)        their sum (== x[0]; dropout is off in eval())
    x.npy                    (L, T, d)     hidden state entering block L
    ln_1.npy                 (L, T, d)     ln_1(x)
    q.npy, k.npy, v.npy      (L, H, T, dₕ) c_attn(ln_1) split into Q | K | V, then into heads
                                           (head h = columns h*12 ..< h*12+12 of each)
    scores.npy               (L, H, T, T)  q · kᵀ
    scaled.npy               (L, H, T, T)  scores / √dₕ
    masked.npy               (L, H, T, T)  scaled with every cell above the diagonal set to -inf.
                                           transformers adds an additive mask holding
                                           finfo(float32).min there (0 elsewhere); the script
                                           checks that pattern and writes -inf instead.
    weights.npy              (L, H, T, T)  the model's softmax (output_attentions)
    z.npy                    (L, H, T, dₕ) weights · v
    concat.npy               (L, T, d)     heads side by side: the input of attn.c_proj
    attn_out.npy             (L, T, d)     attn.c_proj output
    attn_residual.npy        (L, T, d)     x + attn_out
    ln_2.npy                 (L, T, d)     ln_2(attn_residual)
    ffn_hidden.npy           (L, T, 4d)    mlp.c_fc output, before the activation
    ffn_act.npy              (L, T, 4d)    gelu_new(ffn_hidden) (tanh approximation)
    ffn_out.npy              (L, T, d)     mlp.c_proj output
    out.npy                  (L, T, d)     attn_residual + ffn_out: the block's output
    final_norm.npy           (T, d)        ln_f(out[L-1])
    logits.npy               (T, V)        final_norm · wteᵀ (the tied lm_head)

  BERT, s{0,1,2}/ (as minilm_steps.py, plus the parts of the embeddings):
    token_embeddings.npy     (T, d)        word_embeddings[ids]
    position_embeddings.npy  (T, d)        position_embeddings[0 ..< T]
    type_embeddings.npy      (T, d)        token_type_embeddings[0] on every row
    embeddings.npy           (T, d)        LayerNorm(token + type + position)
    x.npy                    (L, T, d)     hidden state entering layer L (x[0] == embeddings)
    q.npy, k.npy, v.npy      (L, H, T, dₕ) query / key / value Linear outputs, split into heads
    scores.npy, scaled.npy   (L, H, T, T)  q · kᵀ and scores / √dₕ
    masked.npy               (L, H, T, T)  scaled + the additive mask: all zeros (no padding), so
                                           masked == scaled
    weights.npy              (L, H, T, T)  the model's softmax (output_attentions)
    z.npy                    (L, H, T, dₕ) weights · v
    concat.npy               (L, T, d)     heads side by side (output of attention.self)
    attn_out.npy             (L, T, d)     attention.output.dense (before the residual)
    attn_norm.npy            (L, T, d)     LayerNorm(attn_out + x)
    ffn_hidden.npy           (L, T, F)     intermediate.dense, before the activation
    ffn_act.npy              (L, T, F)     the activation (gelu erf, gelu_new or relu)
    ffn_out.npy              (L, T, d)     output.dense (before the residual)
    out.npy                  (L, T, d)     LayerNorm(ffn_out + attn_norm)
    pooled_mean.npy          (d,)          mean over tokens of out[L-1] (not the pooler)
"""

import hashlib
import json
import math
import shutil
import sys
import tempfile
from pathlib import Path

import huggingface_hub
import numpy as np
import regex
import safetensors
import safetensors.torch
import tokenizers
import torch
import transformers
from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (AutoTokenizer, BertConfig, BertForMaskedLM, BertModel, GPT2Config, GPT2LMHeadModel,
                          GPT2Tokenizer)
from transformers.activations import ACT2FN
from transformers.convert_slow_tokenizer import bytes_to_unicode
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy
from transformers.pytorch_utils import Conv1D

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the repository
import minilm_tokenizer  # noqa: E402  (its corpus: BERT cases; its readable_json)
import smollm2_tokenizer  # noqa: E402  (its corpus: byte-level BPE cases)

ARGUMENTS = [a for a in sys.argv[1:] if not a.startswith("--")]
FIXTURES = Path(ARGUMENTS[0]).resolve() if ARGUMENTS else REPO / "Tests/AttnCoreTests/Fixtures"
HUB = FIXTURES / "hub"
STEPS = FIXTURES / "tiny"
ORG = "attn-tiny"

# Fixed thread count so reruns produce the same bits (BLAS reductions can otherwise be split
# differently).
torch.set_num_threads(1)

# ---------------------------------------------------------------------------------------------
# Training text
# ---------------------------------------------------------------------------------------------

LICENSE_FILE = Path("/usr/share/common-licenses/GPL-3")
LICENSE_SHA256 = "3972dc9744f6499f0f9b2dbf76696f2ae7ad8af9b23dde66d6af86c9dfb36986"

# Added to the licence, TRAIN_REPEAT times, so that merges touch more than English prose.
TRAIN_EXTRA = [
    # Digits and numbers.
    "0 1 2 3 4 5 6 7 8 9 10 11 12 16 20 32 42 64 99 100 128 256 512 1000 1024 2024 2025",
    "3.14159 2.71828 1,000,000 1e-5 0x1F 007 99% $5.00 10:30 1/2 -17 +3 12th 2nd 1st",
    "In 1991, 2 + 2 = 4 and 12 × 12 = 144; version 3.0 came in 2007.",
    # Accented words, lower and upper case.
    "café naïve résumé über Ångström façade jalapeño São Paulo Zürich crème brûlée déjà vu",
    "CAFÉ NAÏVE RÉSUMÉ ÜBER Élodie Ñandú Øresund Ærø Straße Dvořák Łódź İstanbul",
    # Chinese, Japanese, Korean.
    "東京 北京 中文 日本語 你好世界 ひらがな カタカナ 한국어 안녕하세요",
    # Emoji, with a ZWJ sequence, a flag and a keycap.
    "😀 😂 👍 🎉 ❤️ 👩‍💻 🇫🇷 1️⃣ 🤖",
    # Code.
    "def forward(self, x):\n    return self.proj(x) + x\n",
    "for (int i = 0; i < n; i++) { sum += a[i] * b[i]; }",
    "if x == None: print('none')  # a comment\n\tpass",
    "<div class=\"note\">&amp;</div> https://example.com/a?b=c",
    # Every printable ASCII character, so that only rarer ones are [UNK] to WordPiece.
    "Hello, world! Really? Yes: (a) [b] {c} <d> @e #f $g %h ^i &j *k _l |m ~n `o \\p /q \"r\" 's' t; u.",
    # Contractions in both cases.
    "I'm you're we've they'll she'd don't can't it's won't isn't",
    "I'M YOU'RE WE'VE THEY'LL SHE'D DON'T CAN'T IT'S WON'T ISN'T",
]
TRAIN_REPEAT = 20


def training_texts() -> list[str]:
    data = LICENSE_FILE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == LICENSE_SHA256, f"{LICENSE_FILE} is not the GPL-3 text this was made from"
    return [data.decode("utf-8")] + TRAIN_EXTRA * TRAIN_REPEAT


# ---------------------------------------------------------------------------------------------
# Tokenizers
# ---------------------------------------------------------------------------------------------

GPT2_VOCAB = 1000          # 256 bytes + 743 merges + <|endoftext|>
BERT_VOCAB = 600
EOT = "<|endoftext|>"
BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def merge_pairs(model_json) -> list[tuple[str, str]]:
    """The merges of a serialized BPE model, as pairs (tokenizers writes lists, older ones strings)."""
    return [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model_json["merges"]]


def gpt2_tokenizer() -> Tokenizer:
    """Byte-level BPE trained here, configured as openai-community/gpt2's tokenizer.json."""
    trainee = Tokenizer(models.BPE())
    trainee.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=GPT2_VOCAB - 1, show_progress=False, special_tokens=[],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    trainee.train_from_iterator(training_texts(), trainer)
    merges = merge_pairs(json.loads(trainee.to_str())["model"])

    # GPT-2's numbering: the 256 byte characters in code point order (which is byte order for
    # the printable ones first), then one id per merge in merge order, then <|endoftext|>.
    vocab = {char: i for i, char in enumerate(sorted(bytes_to_unicode().values()))}
    for a, b in merges:
        assert a in vocab and b in vocab and a + b not in vocab, f"merge {a!r} {b!r}"
        vocab[a + b] = len(vocab)
    vocab[EOT] = len(vocab)
    assert len(vocab) == GPT2_VOCAB, len(vocab)

    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, dropout=None, unk_token=None,
                                     continuing_subword_prefix="", end_of_word_suffix="",
                                     fuse_unk=False, byte_fallback=False))
    tokenizer.normalizer = None
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tokenizer.post_processor = processors.ByteLevel(add_prefix_space=True, trim_offsets=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([AddedToken(EOT, special=True, normalized=True)])
    assert tokenizer.token_to_id(EOT) == GPT2_VOCAB - 1
    return tokenizer


def train_wordpiece(normalizer, pre_tokenizer) -> dict[str, int]:
    """The vocabulary tokenizers' WordPieceTrainer would learn (BPE merges over the words, inner
    pieces prefixed "##", most frequent pair first), with ties broken by the pair's text.

    tokenizers' own trainer numbers the "##" pieces in hash-map order, so its ties, and with them
    the vocabulary, change from run to run; this one is deterministic.
    """
    counts: dict[str, int] = {}
    for text in training_texts():
        for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)):
            counts[word] = counts.get(word, 0) + 1
    words = [([w[0]] + ["##" + c for c in w[1:]], n) for w, n in sorted(counts.items())]
    vocab = {token: i for i, token in enumerate(BERT_SPECIALS)}
    for symbol in sorted({s for pieces, _ in words for s in pieces}):
        vocab[symbol] = len(vocab)
    while len(vocab) < BERT_VOCAB:
        pairs: dict[tuple[str, str], int] = {}
        for pieces, n in words:
            for pair in zip(pieces, pieces[1:]):
                pairs[pair] = pairs.get(pair, 0) + n
        best = min(pairs, key=lambda pair: (-pairs[pair], pair))
        merged = best[0] + best[1].removeprefix("##")
        for pieces, _ in words:
            i = 0
            while i + 1 < len(pieces):
                if (pieces[i], pieces[i + 1]) == best:
                    pieces[i:i + 2] = [merged]
                i += 1
        if merged not in vocab:
            vocab[merged] = len(vocab)
    return vocab


def bert_tokenizer(lowercase: bool, strip_accents) -> Tokenizer:
    """WordPiece trained here, configured as google-bert/bert-base-uncased's tokenizer.json."""
    normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                            strip_accents=strip_accents, lowercase=lowercase)
    vocab = train_wordpiece(normalizer, pre_tokenizers.BertPreTokenizer())
    assert len(vocab) == BERT_VOCAB and [vocab[t] for t in BERT_SPECIALS] == [0, 1, 2, 3, 4]

    tokenizer = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", continuing_subword_prefix="##",
                                           max_input_chars_per_word=100))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    tokenizer.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in BERT_SPECIALS])
    return tokenizer


def tokenizer_json(tokenizer: Tokenizer) -> bytes:
    return (tokenizer.to_str(pretty=True) + "\n").encode("utf-8")


def json_bytes(value) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def gpt2_files(tokenizer: Tokenizer, legacy_only=False) -> dict[str, bytes]:
    """tokenizer.json, vocab.json, merges.txt, tokenizer_config.json (only the legacy pair if asked)."""
    model = json.loads(tokenizer.to_str())["model"]
    files = {
        "vocab.json": (json.dumps(model["vocab"], ensure_ascii=False) + "\n").encode("utf-8"),
        "merges.txt": ("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merge_pairs(model))).encode("utf-8"),
    }
    if not legacy_only:
        files["tokenizer.json"] = tokenizer_json(tokenizer)
        files["tokenizer_config.json"] = json_bytes({
            "add_prefix_space": False, "bos_token": EOT, "eos_token": EOT, "unk_token": EOT,
            "model_max_length": 64, "tokenizer_class": "GPT2Tokenizer"})
    return files


def bert_files(tokenizer: Tokenizer, lowercase: bool, legacy_only=False) -> dict[str, bytes]:
    """tokenizer.json (unless legacy_only), vocab.txt, tokenizer_config.json."""
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    by_id = sorted(vocab, key=vocab.get)
    assert [vocab[t] for t in by_id] == list(range(len(vocab)))
    files = {
        "vocab.txt": "".join(t + "\n" for t in by_id).encode("utf-8"),
        "tokenizer_config.json": json_bytes({
            "do_lower_case": lowercase, "model_max_length": 64, "tokenizer_class": "BertTokenizer",
            "cls_token": "[CLS]", "mask_token": "[MASK]", "pad_token": "[PAD]", "sep_token": "[SEP]",
            "unk_token": "[UNK]"}),
    }
    if not legacy_only:
        files["tokenizer.json"] = tokenizer_json(tokenizer)
    return files


# ---------------------------------------------------------------------------------------------
# Corpora for the tokenizer fixtures
# ---------------------------------------------------------------------------------------------

GPT2_EXTRA = [
    # Contractions in upper and mixed case: GPT-2's regex knows only lower-case 's 't 're ...
    "I'M", "DON'T", "I'm", "don'T", "IT'S", "It'S", "it's", "WE'LL", "We'Ll", "THEY'RE",
    "YOU'VE", "HE'D", "SHE'S HERE", "CAN'T STOP WON'T STOP", "O'NEIL'S", "'S", "'s", "''s",
    "x'sy", "x'S y", "ROCK'N'ROLL", "I'D'VE",
    # Runs of spaces before words, digits and punctuation.
    "a  b", "a   b", "a    b", "x  42", "x   42", "x    42", "  leading", "   leading", "trailing  ",
    "  1  2  3", "1  000", "hello   world   again", " a", "  a", "   a", "a \t b", "a\t\tb", "a \n b",
    "a  \n  b", "  ,", "  !!", "x  '", "x  's", "  42abc", "a  é", "a  中",
    # <|endoftext|> typed in the text: a special token, matched before the regex.
    EOT, f"a{EOT}b", f" {EOT}", f"{EOT} ", f"{EOT}{EOT}", f"Hello{EOT} world", f"1{EOT}2",
    "<|endoftext", "endoftext|>", "<|ENDOFTEXT|>", "< |endoftext|>", f"<{EOT}>", f"{EOT}\n\nNew text",
    # The edges of " ?\p{L}+" and " ?\p{N}+": which characters count as letters and numbers.
    " é", " e\u0301", "e\u0301", " \u0301", " ǅ", " ʰ", " ⁿ", " ᾼ", " 𝔘𝔫𝔦", " 1", " 1a", " a1",
    "a1b2", " ½", " ²", " Ⅻ", " 〇", " ١٢٣", " १२३", " 𝟙𝟚", " ①②", "x½", "x²y", " 中文", " ㄱ", " ﬁ",
    " _x", " x_", " -1", " .5", " 5.", " $1", " #1", " @a", " \u00ad", " \u200b", " \ufeffa",
]

BERT_EXTRA = [
    # Case and accents together, for the cased and accent-stripping variants.
    "ÉCOLE", "École", "école", "Ångström", "ÅNGSTRÖM", "naïve CAFÉ", "Crème Brûlée", "ÜBER über",
    "Dvořák Łódź İstanbul", "ǅ ǈ ǋ", "Straße STRASSE", "ﬁ ﬂ", "Ω ω Ω", "K K", "e\u0301 E\u0301",
    "The GNU General Public License", "THE GNU GENERAL PUBLIC LICENSE", "Copyright (C) 2007",
]


def corpus(*lists) -> list[str]:
    """The lists joined, each text once, in order."""
    seen, texts = set(), []
    for texts_of_list in lists:
        for text in texts_of_list:
            if text not in seen:
                seen.add(text)
                texts.append(text)
    return texts


GPT2_CORPUS = corpus(smollm2_tokenizer.CORPUS, GPT2_EXTRA)
BERT_CORPUS = corpus(minilm_tokenizer.CORPUS, BERT_EXTRA)


# OpenAI's encoder.py (gpt-2/src/encoder.py), the "slow" reference: vocab.json + merges.txt.
GPT2_PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def slow_gpt2_encoder(vocab_json: bytes, merges_txt: bytes):
    encoder = json.loads(vocab_json)
    lines = merges_txt.decode("utf-8").split("\n")
    assert lines[0] == "#version: 0.2" and lines[-1] == ""
    merge_list = [tuple(line.split(" ")) for line in lines[1:-1]]
    ranks = {pair: i for i, pair in enumerate(merge_list)}
    byte_encoder = bytes_to_unicode()

    def bpe(word: str) -> list[str]:
        parts = list(word)
        while len(parts) > 1:
            candidates = [ranks.get((a, b), math.inf) for a, b in zip(parts, parts[1:])]
            rank = min(candidates)
            if rank == math.inf:
                break
            first, second = merge_list[rank]
            merged, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == first and parts[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        return parts

    def encode(text: str) -> list[int]:
        ids = []
        for k, chunk in enumerate(text.split(EOT)):
            if k:
                ids.append(encoder[EOT])
            for piece in GPT2_PATTERN.findall(chunk):
                word = "".join(byte_encoder[b] for b in piece.encode("utf-8"))
                ids += [encoder[p] for p in bpe(word)]
        return ids

    return encode


def write_corpus_fixture(path: Path, tokenizer_path: Path, tokenizer: Tokenizer, texts: list[str], decoded: bool):
    cases = []
    for text in texts:
        ids = tokenizer.encode(text, add_special_tokens=True).ids
        case = {"text": text, "ids": ids}
        if decoded:
            case["decoded"] = tokenizer.decode(ids, skip_special_tokens=False)
        cases.append(case)
    fixture = {"tokenizers": tokenizers.__version__, "tokenizer": tokenizer_path.relative_to(FIXTURES).as_posix(),
               "cases": cases}
    readable = minilm_tokenizer.readable_json
    head = readable({k: v for k, v in fixture.items() if k != "cases"})
    text = head[:-1] + ', "cases": [\n' + ",\n".join("    " + readable(c) for c in cases) + "\n]}\n"
    path.write_text(text, encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8")) == fixture
    print(f"{len(cases)} cases → {path.relative_to(FIXTURES)}")


def check_gpt2_tokenizer(tokenizer: Tokenizer, files: dict[str, bytes], directory: Path):
    """The legacy files and transformers' tokenizer encode every corpus text as tokenizer.json does."""
    slow = slow_gpt2_encoder(files["vocab.json"], files["merges.txt"])
    from_json = AutoTokenizer.from_pretrained(str(directory))
    with tempfile.TemporaryDirectory() as legacy:
        for name in ("vocab.json", "merges.txt"):
            (Path(legacy) / name).write_bytes(files[name])
        from_legacy = GPT2Tokenizer.from_pretrained(legacy)
    differ = []
    for text in GPT2_CORPUS:
        ids = tokenizer.encode(text).ids
        assert from_json(text)["input_ids"] == ids, f"transformers (tokenizer.json) differs on {text!r}"
        assert from_legacy(text)["input_ids"] == ids, f"transformers (vocab.json + merges.txt) differs on {text!r}"
        assert from_json.decode(ids) == tokenizer.decode(ids, skip_special_tokens=False)
        if slow(text) != ids:
            differ.append(text)
    # Python's `regex` knows newer Unicode than the Rust one in `tokenizers`: the slow encoder may
    # split a handful of very new characters differently. Nothing else may differ.
    assert not differ, f"OpenAI's encoder.py differs on {differ!r}"
    print(f"gpt2: tokenizer.json, vocab.json + merges.txt and OpenAI's encoder.py agree on {len(GPT2_CORPUS)} texts")


def check_bert_tokenizer(tokenizer: Tokenizer, files: dict[str, bytes], directory: Path, lowercase: bool):
    """vocab.txt through transformers' Python BertTokenizerLegacy and its tokenizers-backed
    BertTokenizer encode every corpus text as tokenizer.json does."""
    with tempfile.TemporaryDirectory() as legacy:
        for name in ("vocab.txt", "tokenizer_config.json"):
            (Path(legacy) / name).write_bytes(files[name])
        from_legacy = AutoTokenizer.from_pretrained(legacy)
        slow = BertTokenizerLegacy(str(Path(legacy) / "vocab.txt"), do_lower_case=lowercase)
    from_json = AutoTokenizer.from_pretrained(str(directory))
    differ = []
    for text in BERT_CORPUS:
        ids = tokenizer.encode(text).ids
        assert from_json(text)["input_ids"] == ids, f"transformers (tokenizer.json) differs on {text!r}"
        assert from_legacy(text)["input_ids"] == ids, f"transformers (vocab.txt) differs on {text!r}"
        if slow(text)["input_ids"] != ids:
            differ.append(text)
    # The Python tokenizer is only informative: its `unicodedata` is a newer Unicode than the
    # tables inside `tokenizers`, and it does not NFC-compose, so it differs on a few dozen texts.
    print(f"bert (lowercase={lowercase}): tokenizer.json and vocab.txt agree on {len(BERT_CORPUS)} texts; "
          f"Python BertTokenizerLegacy on {len(BERT_CORPUS) - len(differ)}")


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------

INIT_RANGE = {"gpt2": 0.2, "bert": 0.25}


def randomize_norms_and_biases(model: torch.nn.Module):
    """LayerNorm weights 1 + 0.1·N(0,1); LayerNorm, Linear and Conv1D biases 0.1·N(0,1)."""
    with torch.no_grad():
        for _, module in model.named_modules():
            if isinstance(module, torch.nn.LayerNorm):
                module.weight.copy_(1 + 0.1 * torch.randn(module.weight.shape))
                module.bias.copy_(0.1 * torch.randn(module.bias.shape))
            elif isinstance(module, (torch.nn.Linear, Conv1D)) and module.bias is not None:
                module.bias.copy_(0.1 * torch.randn(module.bias.shape))


def gpt2_model(seed: int) -> GPT2LMHeadModel:
    torch.manual_seed(seed)
    config = GPT2Config(vocab_size=GPT2_VOCAB, n_positions=64, n_embd=60, n_layer=3, n_head=5,
                        activation_function="gelu_new", layer_norm_epsilon=1e-5,
                        initializer_range=INIT_RANGE["gpt2"], bos_token_id=GPT2_VOCAB - 1,
                        eos_token_id=GPT2_VOCAB - 1, tie_word_embeddings=True)
    model = GPT2LMHeadModel(config)
    randomize_norms_and_biases(model)
    assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr()
    return model.eval()


def bert_model(seed: int, hidden_act: str, masked_lm=False):
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=BERT_VOCAB, hidden_size=84, num_hidden_layers=3, num_attention_heads=7,
                        intermediate_size=120, hidden_act=hidden_act, max_position_embeddings=64,
                        type_vocab_size=2, layer_norm_eps=1e-12, initializer_range=INIT_RANGE["bert"],
                        pad_token_id=0)
    model = BertForMaskedLM(config) if masked_lm else BertModel(config)
    randomize_norms_and_biases(model)
    return model.eval()


def saved_files(model, **kwargs) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as directory:
        model.save_pretrained(directory, **kwargs)
        return {p.name: p.read_bytes() for p in sorted(Path(directory).iterdir())}


def gpt2_as_openai_files(model: GPT2LMHeadModel) -> dict[str, bytes]:
    """openai-community/gpt2's layout: no "transformer." prefix, no lm_head, the causal buffers,
    here in three shards with an index."""
    files = {k: v for k, v in saved_files(model).items() if not k.endswith(".safetensors")}
    state = {k.removeprefix("transformer."): v.detach().contiguous()
             for k, v in model.state_dict().items() if k.startswith("transformer.")}
    assert "lm_head.weight" not in state and len(state) == len(model.transformer.state_dict())
    positions = model.config.n_positions
    for layer in range(model.config.n_layer):
        state[f"h.{layer}.attn.bias"] = torch.tril(torch.ones(positions, positions)).view(1, 1, positions, positions)
    shards = [
        [k for k in state if k.startswith(("wte.", "wpe."))],
        [k for k in state if k.startswith(("h.0.", "h.1."))],
        [k for k in state if k.startswith(("h.2.", "ln_f."))],
    ]
    assert sorted(sum(shards, [])) == sorted(state)
    weight_map = {}
    with tempfile.TemporaryDirectory() as directory:
        for n, keys in enumerate(shards, start=1):
            name = f"model-{n:05d}-of-{len(shards):05d}.safetensors"
            safetensors.torch.save_file({k: state[k] for k in keys}, f"{directory}/{name}", metadata={"format": "pt"})
            files[name] = Path(f"{directory}/{name}").read_bytes()
            weight_map.update({k: name for k in keys})
    total = sum(t.numel() * t.element_size() for t in state.values())
    files["model.safetensors.index.json"] = json_bytes({"metadata": {"total_size": total}, "weight_map": weight_map})
    return files


# ---------------------------------------------------------------------------------------------
# The hub cache layout
# ---------------------------------------------------------------------------------------------

def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def publish(name: str, files: dict[str, bytes]) -> Path:
    """Write `files` as huggingface_hub caches repository attn-tiny/NAME; returns the snapshot folder."""
    root = HUB / f"models--{ORG}--{name}"
    (root / "blobs").mkdir(parents=True)
    (root / "refs").mkdir()
    hashes = {}
    for file in sorted(files):
        data = files[file]
        blob = hashlib.sha256(data).hexdigest() if file.endswith(".safetensors") else git_blob_sha1(data)
        (root / "blobs" / blob).write_bytes(data)
        hashes[file] = blob
    commit = hashlib.sha1("".join(f"{f} {hashes[f]}\n" for f in sorted(hashes)).encode()).hexdigest()
    snapshot = root / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for file, blob in hashes.items():
        (snapshot / file).symlink_to(f"../../blobs/{blob}")
    (root / "refs" / "main").write_text(commit)
    return snapshot


def check_cache(expected: dict[str, set[str]]):
    info = huggingface_hub.scan_cache_dir(HUB)
    assert not info.warnings, info.warnings
    found = {}
    for repo in info.repos:
        assert repo.repo_type == "model" and len(repo.revisions) == 1 and repo.refs.keys() == {"main"}
        revision = next(iter(repo.revisions))
        found[repo.repo_id] = {f.file_name for f in revision.files}
    assert found == {f"{ORG}/{k}": v for k, v in expected.items()}, found
    print(f"scan_cache_dir: {len(info.repos)} repos, {info.size_on_disk} bytes")


# ---------------------------------------------------------------------------------------------
# Reference steps
# ---------------------------------------------------------------------------------------------

GPT2_SENTENCES = [
    ("s0", "The cat sat on the mat"),
    ("s1", "Attention is all you need."),
    ("s2", "You can't copy 42 cafés: 東京 😀!"),
]
BERT_SENTENCES = [
    ("s0", "the cat sat on the mat"),
    ("s1", "Attention is all you need."),
    ("s2", "You can't copy the GPL: café & 東京!"),
]


def f32(t) -> np.ndarray:
    """torch tensor / ndarray -> C-ordered little-endian float32 ndarray."""
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu().numpy()
    return np.ascontiguousarray(np.asarray(t, dtype="<f4"))


def first(output):
    """Some modules return (tensor, attn_weights)."""
    return output[0] if isinstance(output, (tuple, list)) else output


def assert_close(name, a, b, atol):
    diff = (a - b).abs().max().item()
    assert diff <= atol, f"{name}: max |diff| = {diff:.3e} > {atol:.0e}"
    return diff


class Recorder:
    """Forward hooks that keep what each hooked module received or produced (batch dim removed)."""

    def __init__(self):
        self.values, self.handles = {}, []

    def output(self, module, key):
        def hook(_module, _args, output):
            self.values[key] = first(output)[0].detach().clone()
        self.handles.append(module.register_forward_hook(hook))

    def input(self, module, key):
        def hook(_module, args, kwargs):
            value = args[0] if args else kwargs["hidden_states"]
            self.values[key] = value[0].detach().clone()
        self.handles.append(module.register_forward_pre_hook(hook, with_kwargs=True))

    def mask(self, module, key):
        def hook(_module, args, kwargs):
            m = kwargs.get("attention_mask", args[1] if len(args) > 1 else None)
            self.values[key] = None if m is None else m.detach().clone()
        self.handles.append(module.register_forward_pre_hook(hook, with_kwargs=True))

    def stack(self, key, layers):
        return torch.stack([self.values[(key, layer)] for layer in range(layers)])

    def remove(self):
        for handle in self.handles:
            handle.remove()


def split_heads(t, heads):
    """(T, d) -> (H, T, dₕ); head h = columns h*dₕ ..< (h+1)*dₕ."""
    return t.view(t.shape[0], heads, -1).transpose(0, 1).contiguous()


def write_steps(out: Path, arrays: dict):
    out.mkdir(parents=True, exist_ok=True)
    for key, t in arrays.items():
        np.save(out / f"{key}.npy", f32(t))


def row_maxima(weights: torch.Tensor) -> torch.Tensor:
    return weights.max(dim=-1).values.flatten()


def load(model_class, snapshot: Path):
    model, info = model_class.from_pretrained(str(snapshot), dtype=torch.float32, attn_implementation="eager",
                                              output_loading_info=True)
    return model.eval(), info


def gpt2_steps(name: str, snapshot: Path, reference: Tokenizer):
    # Nothing missing (lm_head is tied to wte) and nothing unexpected: gpt2-sharded's h.N.attn.bias
    # buffers are dropped silently (GPT2PreTrainedModel._keys_to_ignore_on_load_unexpected).
    model, info = load(GPT2LMHeadModel, snapshot)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    assert model.dtype == torch.float32
    tokenizer = AutoTokenizer.from_pretrained(str(snapshot))
    gpt = model.transformer
    cfg = model.config
    L, H, d = cfg.n_layer, cfg.n_head, cfg.n_embd
    dh = d // H
    assert model.lm_head.weight.data_ptr() == gpt.wte.weight.data_ptr(), "lm_head is not tied to wte"

    rec = Recorder()
    rec.output(gpt.wte, "token_embeddings")
    rec.output(gpt.wpe, "position_embeddings")
    rec.output(gpt.ln_f, "final_norm")
    for layer, block in enumerate(gpt.h):
        rec.input(block, ("x", layer))
        rec.output(block.ln_1, ("ln_1", layer))
        rec.mask(block.attn, ("mask", layer))
        rec.output(block.attn.c_attn, ("qkv", layer))
        rec.input(block.attn.c_proj, ("concat", layer))
        rec.output(block.attn.c_proj, ("attn_out", layer))
        rec.input(block.ln_2, ("attn_residual", layer))
        rec.output(block.ln_2, ("ln_2", layer))
        rec.output(block.mlp.c_fc, ("ffn_hidden", layer))
        rec.output(block.mlp.act, ("ffn_act", layer))
        rec.output(block.mlp.c_proj, ("ffn_out", layer))
        rec.output(block, ("out", layer))

    records, maxima = [], []
    for sentence, text in GPT2_SENTENCES:
        ids = tokenizer(text)["input_ids"]
        assert tokenizer.bos_token_id not in ids, "the tokenizer added a BOS token"
        assert ids == reference.encode(text).ids, f"{name}: the repository's tokenizer differs from tokenizer.json"
        tokens = tokenizer.convert_ids_to_tokens(ids)
        T = len(ids)
        rec.values.clear()
        input_ids = torch.tensor([ids])
        with torch.no_grad():
            result = model(input_ids, attention_mask=torch.ones_like(input_ids), output_attentions=True)
            v_ = rec.values
            a = {"token_embeddings": v_["token_embeddings"], "position_embeddings": v_["position_embeddings"]}
            a["embeddings"] = a["token_embeddings"] + a["position_embeddings"]
            assert torch.equal(a["token_embeddings"], gpt.wte.weight[ids])
            assert torch.equal(a["position_embeddings"], gpt.wpe.weight[:T])
            for key in ["x", "ln_1"]:
                a[key] = rec.stack(key, L)
            qkv = rec.stack("qkv", L)                                       # (L, T, 3d)
            q, k, v = (torch.stack([split_heads(part[layer], H) for layer in range(L)])
                       for part in qkv.split(d, dim=-1))                    # (L, H, T, dₕ) each
            scores = q @ k.transpose(-1, -2)
            scaled = scores / math.sqrt(dh)
            causal = torch.ones(T, T, dtype=torch.bool).triu(1)             # True above the diagonal
            for layer in range(L):
                m = v_[("mask", layer)]
                assert m is not None and m.dtype == torch.float32 and m.shape[-2:] == (T, T), m
                m = m.reshape(-1, T, T)[0]
                assert torch.equal(m == torch.finfo(torch.float32).min, causal) and torch.all(m[~causal] == 0), \
                    f"layer {layer}: the additive mask is not 0 / finfo.min causal"
            masked = scaled.masked_fill(causal, -math.inf)
            weights = torch.stack([w[0] for w in result.attentions])       # (L, H, T, T)
            d_w = assert_close(f"{name} {sentence} weights vs softmax(masked)", weights, torch.softmax(masked, -1), 1e-6)
            assert torch.all(weights[..., causal] == 0), "weights above the diagonal are not exactly 0"
            assert_close("rows sum to 1", weights.sum(-1), torch.ones(()), 1e-5)
            z = weights @ v
            for key in ["concat", "attn_out", "attn_residual", "ln_2", "ffn_hidden", "ffn_act", "ffn_out", "out"]:
                a[key] = rec.stack(key, L)
            d_z = assert_close("concat(z) vs c_proj input", z.transpose(1, 2).reshape(L, T, d), a["concat"], 1e-5)
            assert torch.equal(a["x"][0], a["embeddings"])
            for layer, block in enumerate(gpt.h):
                if layer + 1 < L:
                    assert torch.equal(a["x"][layer + 1], a["out"][layer])
                assert torch.equal(a["ln_1"][layer], block.ln_1(a["x"][layer]))
                assert torch.equal(a["attn_residual"][layer], a["attn_out"][layer] + a["x"][layer])
                assert torch.equal(a["ln_2"][layer], block.ln_2(a["attn_residual"][layer]))
                assert_close("gelu_new", ACT2FN["gelu_new"](a["ffn_hidden"][layer]), a["ffn_act"][layer], 1e-6)
                assert torch.equal(a["out"][layer], a["attn_residual"][layer] + a["ffn_out"][layer])
            a["final_norm"] = v_["final_norm"]
            assert torch.equal(a["final_norm"], gpt.ln_f(a["out"][-1]))
            a["logits"] = result.logits[0]
            assert_close("logits vs final_norm · wteᵀ", a["final_norm"] @ gpt.wte.weight.T, a["logits"], 1e-4)
            a.update(q=q, k=k, v=v, scores=scores, scaled=scaled, masked=masked, weights=weights, z=z)
            maxima.append(row_maxima(weights))

            probabilities = torch.softmax(a["logits"][-1], -1)
            top = torch.topk(probabilities, 5)
            top5 = [{"id": int(i), "token": tokenizer.convert_ids_to_tokens(int(i)), "probability": float(p)}
                    for p, i in zip(top.values, top.indices)]
        write_steps(STEPS / name / sentence, a)
        records.append({"name": sentence, "text": text, "ids": ids, "tokens": tokens, "top5": top5})
        print(f"{name} {sentence}: T={T} max|weights-softmax|={d_w:.1e} max|concat(z)-concat|={d_z:.1e}")
    rec.remove()

    # Greedy continuations, without hooks: generate() (KV cache, stops at EOS) and a plain argmax
    # loop over the whole sequence (no cache, no stop); the first is a prefix of the second.
    for record in records:
        ids, T = record["ids"], len(record["ids"])
        input_ids = torch.tensor([ids])
        with torch.no_grad():
            generated = model.generate(input_ids, attention_mask=torch.ones_like(input_ids), max_new_tokens=10,
                                       do_sample=False, pad_token_id=cfg.eos_token_id)[0, T:].tolist()
            argmax = list(ids)
            for _ in range(10):
                argmax.append(int(model(torch.tensor([argmax]), use_cache=False).logits[0, -1].argmax()))
        argmax10 = argmax[T:]
        assert argmax10[:len(generated)] == generated, f"generate {generated} is not a prefix of {argmax10}"
        assert len(generated) == 10 or generated[-1] == cfg.eos_token_id
        record.update(greedy_ids=generated, argmax10_ids=argmax10)
        print(f"{name} {record['name']}: greedy {generated}")
    return records, torch.cat(maxima).mean().item()


def bert_steps(name: str, snapshot: Path, reference: Tokenizer, masked_lm: bool):
    model, info = load(BertForMaskedLM if masked_lm else BertModel, snapshot)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    assert model.dtype == torch.float32
    bert = model.bert if masked_lm else model
    tokenizer = AutoTokenizer.from_pretrained(str(snapshot))
    cfg = model.config
    L, H, d = cfg.num_hidden_layers, cfg.num_attention_heads, cfg.hidden_size
    dh = d // H
    act = ACT2FN[cfg.hidden_act]

    rec = Recorder()
    emb = bert.embeddings
    rec.output(emb.word_embeddings, "token_embeddings")
    rec.output(emb.position_embeddings, "position_embeddings")
    rec.output(emb.token_type_embeddings, "type_embeddings")
    rec.output(emb, "embeddings")
    for layer, block in enumerate(bert.encoder.layer):
        att = block.attention
        rec.input(block, ("x", layer))
        rec.mask(att.self, ("mask", layer))
        rec.output(att.self.query, ("q_lin", layer))
        rec.output(att.self.key, ("k_lin", layer))
        rec.output(att.self.value, ("v_lin", layer))
        rec.output(att.self, ("concat", layer))
        rec.output(att.output.dense, ("attn_out", layer))
        rec.output(att.output, ("attn_norm", layer))
        rec.output(block.intermediate.dense, ("ffn_hidden", layer))
        rec.output(block.intermediate, ("ffn_act", layer))
        rec.output(block.output.dense, ("ffn_out", layer))
        rec.output(block, ("out", layer))

    records, maxima = [], []
    for sentence, text in BERT_SENTENCES:
        encoded = tokenizer(text)
        ids = encoded["input_ids"]
        assert set(encoded["token_type_ids"]) == {0}
        assert ids == reference.encode(text).ids, f"{name}: the repository's tokenizer differs from tokenizer.json"
        tokens = tokenizer.convert_ids_to_tokens(ids)
        assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
        T = len(ids)
        rec.values.clear()
        input_ids = torch.tensor([ids])
        with torch.no_grad():
            result = bert(input_ids, attention_mask=torch.ones_like(input_ids), output_attentions=True)
            v_ = rec.values
            a = {key: v_[key] for key in ["token_embeddings", "position_embeddings", "type_embeddings", "embeddings"]}
            assert torch.equal(a["token_embeddings"], emb.word_embeddings.weight[ids])
            assert torch.equal(a["position_embeddings"], emb.position_embeddings.weight[:T])
            assert torch.equal(a["type_embeddings"], emb.token_type_embeddings.weight[[0] * T])
            summed = a["token_embeddings"] + a["type_embeddings"] + a["position_embeddings"]
            assert_close("embeddings", emb.LayerNorm(summed), a["embeddings"], 1e-6)
            for key in ["x", "concat", "attn_out", "attn_norm", "ffn_hidden", "ffn_act", "ffn_out", "out"]:
                a[key] = rec.stack(key, L)
            q, k, v = (torch.stack([split_heads(v_[(key, layer)], H) for layer in range(L)])
                       for key in ["q_lin", "k_lin", "v_lin"])
            for layer in range(L):
                m = v_[("mask", layer)]
                assert m is None or (m.dtype == torch.bool and m.all()) or (m == 0).all(), m
            scores = q @ k.transpose(-1, -2)
            scaled = scores / math.sqrt(dh)
            masked = scaled + torch.zeros(T, T)
            weights = torch.stack([w[0] for w in result.attentions])
            d_w = assert_close(f"{name} {sentence} weights vs softmax(masked)", weights, torch.softmax(masked, -1), 1e-6)
            assert_close("rows sum to 1", weights.sum(-1), torch.ones(()), 1e-5)
            z = weights @ v
            d_z = assert_close("concat(z) vs attention.self", z.transpose(1, 2).reshape(L, T, d), a["concat"], 1e-5)
            assert torch.equal(a["x"][0], a["embeddings"])
            for layer, block in enumerate(bert.encoder.layer):
                if layer + 1 < L:
                    assert torch.equal(a["x"][layer + 1], a["out"][layer])
                ln1, ln2 = block.attention.output.LayerNorm, block.output.LayerNorm
                assert_close("attn_norm", ln1(a["attn_out"][layer] + a["x"][layer]), a["attn_norm"][layer], 1e-5)
                assert_close("ffn_act", act(a["ffn_hidden"][layer]), a["ffn_act"][layer], 1e-6)
                assert_close("out", ln2(a["ffn_out"][layer] + a["attn_norm"][layer]), a["out"][layer], 1e-5)
            assert torch.equal(a["out"][-1], result.last_hidden_state[0])
            a.update(q=q, k=k, v=v, scores=scores, scaled=scaled, masked=masked, weights=weights, z=z)
            a["pooled_mean"] = a["out"][-1].mean(dim=0)
            maxima.append(row_maxima(weights))
        write_steps(STEPS / name / sentence, a)
        records.append({"name": sentence, "text": text, "ids": ids, "tokens": tokens})
        print(f"{name} {sentence}: T={T} max|weights-softmax|={d_w:.1e} max|concat(z)-concat|={d_z:.1e}")
    rec.remove()
    return records, torch.cat(maxima).mean().item()


def write_sentences(name: str, commit: str, checkpoint_dtype: str, tokenizer_files: str, records, mean_row_max):
    meta = {
        "repo": f"{ORG}/{name}",
        "commit": commit,
        "checkpoint_dtype": checkpoint_dtype,
        "tokenizer_files": tokenizer_files,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "tokenizers": tokenizers.__version__,
        "numpy": np.__version__,
        "attn_implementation": "eager",
        "mean_row_max": mean_row_max,
        "sentences": records,
    }
    with open(STEPS / name / "sentences.json", "w", encoding="utf-8") as f:
        json.dump(meta, f, ensure_ascii=False, indent=2)
        f.write("\n")
    assert 0.3 <= mean_row_max <= 0.9, f"{name}: mean row maximum {mean_row_max:.3f} (attention too flat or too sharp)"
    print(f"{name}: mean row maximum of the attention weights {mean_row_max:.3f}")


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

def main():
    for tree in (HUB, STEPS):
        if tree.exists():
            shutil.rmtree(tree)

    # Tokenizers.
    gpt2_tok = gpt2_tokenizer()
    bert_tok = bert_tokenizer(lowercase=True, strip_accents=None)
    cased_tok = bert_tokenizer(lowercase=False, strip_accents=None)
    stripped_tok = bert_tokenizer(lowercase=False, strip_accents=True)
    gpt2_tok_files = gpt2_files(gpt2_tok)
    bert_tok_files = bert_files(bert_tok, lowercase=True)
    cased_tok_files = bert_files(cased_tok, lowercase=False)

    # Models, each a repository of the cache: name -> (files, checkpoint dtype, tokenizer files).
    repos = {}
    repos["gpt2"] = {**saved_files(gpt2_model(seed=1)), **gpt2_tok_files}
    repos["gpt2-bf16"] = {**saved_files(gpt2_model(seed=2).to(torch.bfloat16)), **gpt2_tok_files}
    repos["gpt2-sharded"] = {**gpt2_as_openai_files(gpt2_model(seed=3)), **gpt2_files(gpt2_tok, legacy_only=True)}
    repos["bert"] = {**saved_files(bert_model(seed=4, hidden_act="gelu")), **bert_tok_files}
    repos["bert-bf16"] = {**saved_files(bert_model(seed=5, hidden_act="gelu_new").to(torch.bfloat16)), **cased_tok_files}
    repos["bert-sharded"] = {**saved_files(bert_model(seed=6, hidden_act="relu", masked_lm=True), max_shard_size="300KB"),
                             **bert_files(bert_tok, lowercase=True, legacy_only=True)}
    snapshots = {name: publish(name, files) for name, files in repos.items()}
    check_cache({name: set(files) for name, files in repos.items()})
    stripped_path = STEPS / "bert-stripped" / "tokenizer.json"
    stripped_path.parent.mkdir(parents=True)
    stripped_path.write_bytes(tokenizer_json(stripped_tok))

    # Tokenizer fixtures, and checks that the legacy files and transformers agree.
    check_gpt2_tokenizer(gpt2_tok, gpt2_tok_files, snapshots["gpt2"])
    check_bert_tokenizer(bert_tok, bert_tok_files, snapshots["bert"], lowercase=True)
    check_bert_tokenizer(cased_tok, cased_tok_files, snapshots["bert-bf16"], lowercase=False)
    write_corpus_fixture(FIXTURES / "tiny-gpt2-tokenizer.json", snapshots["gpt2"] / "tokenizer.json",
                         gpt2_tok, GPT2_CORPUS, decoded=True)
    write_corpus_fixture(FIXTURES / "tiny-bert-tokenizer.json", snapshots["bert"] / "tokenizer.json",
                         bert_tok, BERT_CORPUS, decoded=False)
    write_corpus_fixture(FIXTURES / "tiny-bert-cased-tokenizer.json", snapshots["bert-bf16"] / "tokenizer.json",
                         cased_tok, BERT_CORPUS, decoded=False)
    write_corpus_fixture(FIXTURES / "tiny-bert-stripped-tokenizer.json", stripped_path,
                         stripped_tok, BERT_CORPUS, decoded=False)

    if "--tokenizers-only" in sys.argv:
        return

    # Reference steps.
    for name, snapshot in snapshots.items():
        commit = snapshot.name
        config = json.loads((snapshot / "config.json").read_text())
        checkpoint_dtype = config.get("dtype", config.get("torch_dtype"))
        files = sorted(f for f in repos[name] if f.startswith(("tokenizer.json", "vocab", "merges")))
        tokenizer_files = "tokenizer.json" if "tokenizer.json" in files else " + ".join(files)
        if name.startswith("gpt2"):
            records, mean_row_max = gpt2_steps(name, snapshot, gpt2_tok)
        else:
            reference = cased_tok if name == "bert-bf16" else bert_tok
            records, mean_row_max = bert_steps(name, snapshot, reference, masked_lm=name == "bert-sharded")
        write_sentences(name, commit, checkpoint_dtype, tokenizer_files, records, mean_row_max)


if __name__ == "__main__":
    main()
