"""The learned half of the chat tone: hashed n-grams and a linear model, pure Python (no numpy).

Why beside the lexicon (``client_py.tone``): the lexicon hears words, not what is meant — sarcasm
("great, another week without my parcel") reads as praise, "how many more times" or «это
неуважение» carry no angry word, a deadline ("before my flight on Friday") no urgent one, and
transliterated Russian none of its stems. A model trained on written chat messages
(``models/tone/``) picks those up from word and character n-grams.

Features: lowercased words (``ё`` as ``е``, digits as ``0``), word bigrams, character 3- and
4-grams inside each padded word (typos and Russian endings share most of them), each emoji,
``!!``/``??``/``?!`` runs, quotes and CAPS. Each is hashed (CRC-32) into one of ``dim`` buckets;
a message's features weigh ``1/sqrt(n)`` each. One logistic unit per tone dimension; scores are
calibrated on the dev split (Platt). Weights are int8 with a scale per dimension in
``tone_model.bin`` beside this module; in the browser, where this package is imported from its
zipped wheel (no directory to write into), the worker writes them to ``/tmp`` on the page's
first chat message.

File format: ``b"RTM1"``, a 4-byte little-endian header length, a JSON header (dims, scales,
biases, calibration, the lexicon blend and veto), then ``dim × len(dims)`` signed bytes,
bucket-major.
The text is only read here: nothing of it is kept.
"""

from __future__ import annotations

import json
import math
import os
import re
import zlib
from typing import Final

from .records import record

__all__ = ["MODEL_FILE", "LearnedTone", "features", "load", "logit", "sigmoid"]

_HERE: Final = os.path.dirname(os.path.abspath(__file__))
MODEL_FILE: Final = os.path.join(_HERE if os.path.isdir(_HERE) else "/tmp", "tone_model.bin")
_MAGIC: Final = b"RTM1"
_MAX_CHARS: Final = 1_000

_WORD: Final = re.compile(r"[^\W_]+", re.UNICODE)
_CAPS: Final = re.compile(r"\b[^\W\d_a-zа-яё]{3,}\b")
_DIGITS: Final = re.compile(r"\d+")
_EMOJI_MIN: Final = 0x2190  # arrows, symbols, dingbats and the emoji planes
#: dimension → the dimension that, when it applies, takes away its lexicon floor
_OUTWEIGHED_BY: Final = {"positivity": "irritation", "formality": "irritation"}


def features(text: str) -> list[tuple[str, str]]:
    """(feature, the word it came from) pairs of one message, without repeats."""
    raw = text[:_MAX_CHARS]
    lowered = _DIGITS.sub("0", raw.lower().replace("ё", "е"))
    words = _WORD.findall(lowered)
    out: dict[str, str] = {}
    previous = "^"
    for word in words:
        out.setdefault("w" + word, word)
        out.setdefault("b" + previous + " " + word, f"{previous} {word}".lstrip("^ "))
        previous = word
        padded = f" {word} "
        for n in (3, 4):
            for i in range(len(padded) - n + 1):
                out.setdefault("c" + padded[i : i + n], word)
    if words:
        out.setdefault("b" + previous + " $", previous)
    for ch in raw:
        if ord(ch) >= _EMOJI_MIN and not ch.isalnum():
            out.setdefault("e" + ch, ch)
    for mark in ("!!", "??", "?!", "!?", "...", "«", '"', "“", ")))", "(("):
        if mark in raw:
            out.setdefault("p" + mark, mark)
    if len(_CAPS.findall(raw)) >= 2:
        out.setdefault("pCAPS", "CAPS")
    return list(out.items())


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def bucket(feature: str, dim: int) -> int:
    return zlib.crc32(feature.encode("utf-8")) % dim


@record(frozen=True)
class LearnedTone:
    """A loaded model: ``predict`` gives calibrated scores per tone dimension."""

    dims: tuple[str, ...]
    dim: int
    weights: memoryview  # int8, bucket-major: weights[bucket * len(dims) + k]
    scales: tuple[float, ...]
    biases: tuple[float, ...]
    #: Platt calibration (a, b) per dimension: p = sigmoid(a * z + b)
    platt: tuple[tuple[float, float], ...]
    #: lexicon blend (u, v, w) per dimension: sigmoid(u * logit(p_learned) + v * lexicon + w)
    blend: tuple[tuple[float, float, float], ...]
    #: the lexicon's own score stands unless the learned score is below this (a veto: sarcastic
    #: "great" has a lexicon positivity but a learned one near 0)
    veto: float = 0.0

    def raw(self, feats: list[tuple[str, str]]) -> list[float]:
        """Uncalibrated logits, one per dimension."""
        k = len(self.dims)
        sums = [0] * k
        w = self.weights
        for feature, _ in feats:
            base = bucket(feature, self.dim) * k
            for j in range(k):
                sums[j] += w[base + j]
        norm = 1.0 / math.sqrt(len(feats)) if feats else 0.0
        return [self.biases[j] + self.scales[j] * norm * sums[j] for j in range(k)]

    def predict(self, text: str) -> dict[str, float]:
        """Calibrated probability per tone dimension."""
        z = self.raw(features(text))
        return {
            name: sigmoid(a * zj + b)
            for name, zj, (a, b) in zip(self.dims, z, self.platt, strict=True)
        }

    def blend_scores(
        self, learned: dict[str, float], lexicon: dict[str, float]
    ) -> dict[str, float]:
        """The combined score per dimension: the learned and the lexicon evidence, calibrated;
        where the learned model does not veto it, at least the lexicon's own score — except that
        irritation outweighs the lexicon's praise and politeness (sarcasm: "great, thanks")."""
        out = {}
        for name, (u, v, w) in zip(self.dims, self.blend, strict=True):
            lex = lexicon.get(name, 0.0)
            score = sigmoid(u * logit(learned[name]) + v * lex + w)
            out[name] = max(score, lex) if learned[name] >= self.veto else score
            out[name + "/blend"] = score
        for name, over in _OUTWEIGHED_BY.items():
            if name in self.dims and out.get(over, 0.0) >= 0.5:
                out[name] = out[name + "/blend"]
        return {name: out[name] for name in self.dims}

    def evidence(self, text: str, name: str, top: int = 3) -> tuple[str, ...]:
        """The words (or bigrams, emoji, marks) that pushed ``name`` up the most."""
        k, j = len(self.dims), self.dims.index(name)
        by_source: dict[str, float] = {}
        for feature, source in features(text):
            weight = self.weights[bucket(feature, self.dim) * k + j]
            by_source[source] = by_source.get(source, 0.0) + weight
        ranked = sorted(by_source.items(), key=lambda item: -item[1])
        return tuple(source for source, weight in ranked[:top] if weight > 0)


def encode(
    dims: tuple[str, ...],
    dim: int,
    weights: bytes,
    scales: list[float],
    biases: list[float],
    platt: list[tuple[float, float]],
    blend: list[tuple[float, float, float]],
    meta: dict[str, object],
    veto: float = 0.0,
) -> bytes:
    """The bytes of ``tone_model.bin`` (used by the training command)."""
    header = json.dumps(
        {
            "dims": list(dims),
            "dim": dim,
            "scales": [round(s, 8) for s in scales],
            "biases": [round(b, 6) for b in biases],
            "platt": [[round(a, 6), round(b, 6)] for a, b in platt],
            "blend": [[round(x, 6) for x in row] for row in blend],
            "veto": veto,
            "meta": meta,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    return _MAGIC + len(header).to_bytes(4, "little") + header + weights


def decode(data: bytes) -> LearnedTone:
    if data[:4] != _MAGIC:
        raise ValueError("not a Rapport tone model (bad magic)")
    length = int.from_bytes(data[4:8], "little")
    header = json.loads(data[8 : 8 + length])
    dims = tuple(header["dims"])
    weights = memoryview(data)[8 + length :].cast("b")
    if len(weights) != header["dim"] * len(dims):
        raise ValueError("tone model: weight count does not match its header")
    return LearnedTone(
        dims=dims,
        dim=int(header["dim"]),
        weights=weights,
        scales=tuple(header["scales"]),
        biases=tuple(header["biases"]),
        platt=tuple((a, b) for a, b in header["platt"]),
        blend=tuple((u, v, w) for u, v, w in header["blend"]),
        veto=float(header.get("veto", 0.0)),
    )


_loaded: list[LearnedTone | None] = []


def load() -> LearnedTone | None:
    """The shipped model, read once; None when the file is missing (the lexicon works alone)."""
    if not _loaded:
        try:
            with open(MODEL_FILE, "rb") as fh:
                _loaded.append(decode(fh.read()))
        except OSError:
            _loaded.append(None)
    return _loaded[0]
