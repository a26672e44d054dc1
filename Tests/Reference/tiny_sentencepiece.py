"""Two tiny SentencePiece-style BPE tokenizer.json files, Llama 2's shape and Gemma's, and the ids
Hugging Face `tokenizers` gives a corpus with them, for `SentencePieceTokenizer(huggingFaceDirectory:)`.

attn reads Gemma 3 from a GGUF file (gemma3_tokenizer.py); a Hugging Face checkpoint of a
SentencePiece model carries a tokenizer.json instead, with the merges listed. No such checkpoint
is small enough to commit, so this script trains a 700-token vocabulary with `tokenizers` and
writes it in the two shapes real checkpoints use:

    llama2  meta-llama/Llama-2-7b-hf's pipeline:
              normalizer      Sequence[Prepend("▁"), Replace(" ", "▁")]
              pre_tokenizer   null
              model           BPE, byte_fallback, fuse_unk, unk "<unk>"
              decoder         Sequence[Replace("▁", " "), ByteFallback, Fuse, Strip(" ", 1, 0)]
              post_processor  TemplateProcessing "<s> $A"
              ids             <unk> 0, <s> 1, </s> 2, <0x00>…<0xFF> 3…258, then the trained tokens
    gemma   google/gemma-3's pipeline (the one transformers also builds from a Gemma GGUF):
              normalizer      Replace(" ", "▁")
              pre_tokenizer   Split(" ", merged_with_previous)
              decoder         Sequence[Replace("▁", " "), ByteFallback, Fuse]
              post_processor  TemplateProcessing "<bos> $A"
              ids             <pad> 0, <eos> 1, <bos> 2, <unk> 3, <0x00>…<0xFF> 4…259, the trained
                              tokens, then added tokens: <start_of_turn> and <end_of_turn>
                              (special) and "\\n", "\\n\\n", "\\t", "<table>" (not special)

Both keep the trained merges in their order. The vocabulary is trained on the GPL-3 text and the
extra lines of tiny_checkpoints.py, split into words with a Metaspace pre-tokenizer (so that, as in
SentencePiece, no token has "▁" inside it); the tokenizers themselves then treat each piece of
text between added tokens as one word, as the real ones do.

Outputs, in Tests/AttnCoreTests/Fixtures:

    tiny-sentencepiece/llama2/tokenizer.json, tiny-sentencepiece/gemma/tokenizer.json
    tiny-sentencepiece-tokenizer.json   {"tokenizers": version, NAME: {"adds_bos", "bos_id",
                                        "cases": [{"text", "ids", "decoded"}, ...],
                                        "decode_cases": [{"ids", "decoded"}, ...]}, ...}

"ids" are without special tokens (no BOS); "adds_bos" says whether the post-processor adds one.
The corpus is gemma3_tokenizer.py's own, plus texts that start or end with spaces around added
tokens (where Prepend and Strip show).

Usage, from the repository root (the venv of Tests/Reference/README.md):

    /tmp/refvenv/bin/python Tests/Reference/tiny_sentencepiece.py [FIXTURES_DIR]

A run takes a few seconds; a second run changes no byte.
"""

import json
import sys
from pathlib import Path

import tokenizers
from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the repository
from gemma3_tokenizer import OWN as GEMMA_CORPUS  # noqa: E402
from smollm2_tokenizer import readable_json  # noqa: E402
from tiny_checkpoints import training_texts  # noqa: E402

FIXTURES = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else HERE.parents[1] / "Tests/AttnCoreTests/Fixtures"
TRAINED_TOKENS = 700
BYTES = ["<0x%02X>" % byte for byte in range(256)]

# Where the prepended "▁" and the stripped space show: texts that start with spaces, and added
# tokens with text on either side.
EXTRA = [
    " leading", "  two leading", "trailing ", "<s>", "<s>Hello", "<s> Hello", "Hello<s>world",
    "Hello</s> world", "</s>", "<unk>", " <s>", "<s> ", "a<s>b</s>c", "<start_of_turn>user\nHi",
    "\n\nx\n", "<table>", " <table> ", "▁", "▁x", "x▁", "<0x41>",
]


def trained() -> tuple[list[str], list[tuple[str, str]]]:
    """The trained tokens, in the trainer's order, and its merges."""
    trainee = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    trainee.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    trainer = trainers.BpeTrainer(vocab_size=TRAINED_TOKENS, show_progress=False, special_tokens=[])
    trainee.train_from_iterator(training_texts(), trainer)
    model = json.loads(trainee.to_str())["model"]
    tokens = sorted(model["vocab"], key=model["vocab"].get)
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
    return tokens, merges


def build(name: str, tokens: list[str], merges: list[tuple[str, str]]) -> Tokenizer:
    if name == "llama2":
        specials = ["<unk>", "<s>", "</s>"]
    else:
        specials = ["<pad>", "<eos>", "<bos>", "<unk>"]
    vocab = {token: index for index, token in enumerate(specials + BYTES + [t for t in tokens if t not in BYTES])}
    for left, right in merges:
        assert left in vocab and right in vocab and left + right in vocab, (left, right)
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True,
                                     fuse_unk=True, dropout=None))
    steps = [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    if name == "llama2":
        tokenizer.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
        tokenizer.pre_tokenizer = None
        tokenizer.decoder = decoders.Sequence(steps + [decoders.Strip(" ", 1, 0)])
        tokenizer.post_processor = processors.TemplateProcessing(
            single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", vocab["<s>"])])
        tokenizer.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in specials])
    else:
        tokenizer.normalizer = normalizers.Replace(" ", "▁")
        tokenizer.pre_tokenizer = pre_tokenizers.Split(" ", behavior="merged_with_previous", invert=False)
        tokenizer.decoder = decoders.Sequence(steps)
        tokenizer.post_processor = processors.TemplateProcessing(
            single="<bos> $A", pair="<bos> $A <bos> $B", special_tokens=[("<bos>", vocab["<bos>"])])
        tokenizer.add_special_tokens([AddedToken(t, normalized=False, special=True)
                                      for t in specials + ["<start_of_turn>", "<end_of_turn>"]])
        tokenizer.add_tokens([AddedToken(t, normalized=False, special=False) for t in ["\n", "\n\n", "\t", "<table>"]])
    return tokenizer


def main() -> None:
    tokens, merges = trained()
    corpus = GEMMA_CORPUS + [text for text in EXTRA if text not in set(GEMMA_CORPUS)]
    results = {}
    for name in ("llama2", "gemma"):
        tokenizer = build(name, tokens, merges)
        folder = FIXTURES / "tiny-sentencepiece" / name
        folder.mkdir(parents=True, exist_ok=True)
        # One added token or merge a line, as tokenizers writes it with pretty=True.
        tokenizer.save(str(folder / "tokenizer.json"), pretty=True)
        reread = Tokenizer.from_file(str(folder / "tokenizer.json"))
        bos = "<s>" if name == "llama2" else "<bos>"
        cases = []
        for text in corpus:
            ids = reread.encode(text, add_special_tokens=False).ids
            assert reread.encode(text).ids == [reread.token_to_id(bos)] + ids, text
            cases.append({"text": text, "ids": ids, "decoded": reread.decode(ids, skip_special_tokens=False)})
        byte = reread.token_to_id
        broken = [
            [byte("<0xE4>"), byte("<0xB8>")],
            [byte("<0xE4>"), byte("<0xB8>"), byte("<0xAD>")],
            [byte("<0x20>"), byte("<0x41>")],
            [byte("▁the"), byte("▁the")],
            [reread.token_to_id(bos), byte("▁the")],
            [byte("<0xC3>"), 100000, byte("<0xA9>"), byte("▁the")],
            [],
        ]
        decode_cases = [{"ids": ids, "decoded": reread.decode(ids, skip_special_tokens=False)} for ids in broken]
        results[name] = {"adds_bos": True, "bos_id": reread.token_to_id(bos), "cases": cases,
                         "decode_cases": decode_cases}

    out_file = FIXTURES / "tiny-sentencepiece-tokenizer.json"
    fixture = {"tokenizers": tokenizers.__version__, **results}
    # One case per line: small diffs when the corpus grows.
    parts = []
    for name, result in results.items():
        head = readable_json({k: v for k, v in result.items() if k not in ("cases", "decode_cases")})
        parts.append(f'"{name}": ' + head[:-1] + ', "cases": [\n'
                     + ",\n".join("    " + readable_json(case) for case in result["cases"])
                     + '\n], "decode_cases": [\n'
                     + ",\n".join("    " + readable_json(case) for case in result["decode_cases"])
                     + "\n]}")
    out_file.write_text('{"tokenizers": "%s",\n' % tokenizers.__version__ + ",\n".join(parts) + "}\n",
                        encoding="utf-8")
    assert json.loads(out_file.read_text(encoding="utf-8")) == fixture
    print(f"{len(corpus)} texts through {', '.join(results)}, tokenizers {tokenizers.__version__} → {out_file}")


if __name__ == "__main__":
    main()
