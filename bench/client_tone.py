"""Accuracy of the on-device chat tone analyser on the labelled phrase set (RU + EN).

    python -m bench.client_tone [--show-errors]

Top-line: exact label-set accuracy (irritated / urgent / formal / positive, or neutral), per-label
precision and recall, and topic-set accuracy. The set is tests/client_py/data/tone_phrases.tsv;
it was written together with the lexicon, so read the numbers as a regression baseline, not as
accuracy on unseen chat.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from client_py.tone import LABELS, analyse

PHRASES = (
    Path(__file__).resolve().parent.parent / "tests" / "client_py" / "data" / "tone_phrases.tsv"
)


def load() -> list[tuple[str, set[str], set[str]]]:
    rows = []
    for line in PHRASES.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text, labels, topics = [*line.split("\t"), "", ""][:3]
        rows.append((text, set(labels.split(",")), {t for t in topics.split(",") if t}))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args(argv)
    rows = load()
    exact = topics_right = 0
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    russian = sum(any("а" <= ch <= "я" for ch in text.lower()) for text, _, _ in rows)
    for text, want, want_topics in rows:
        result = analyse(text)
        got = set(result.labels)
        exact += got == want
        topics_right += set(result.topics) == want_topics
        for label in [*LABELS.values(), "neutral"]:
            tp[label] += label in got and label in want
            fp[label] += label in got and label not in want
            fn[label] += label not in got and label in want
        if args.show_errors and (got != want or set(result.topics) != want_topics):
            print(f"  {text!r}: want {sorted(want)} {sorted(want_topics)}, "
                  f"got {sorted(got)} {sorted(result.topics)}", file=sys.stderr)  # fmt: skip
    n = len(rows)
    print(f"phrases: {n} ({russian} Russian, {n - russian} English)")
    print(f"label-set accuracy (exact): {exact / n:.1%} ({exact}/{n})")
    print(f"topic-set accuracy (exact): {topics_right / n:.1%} ({topics_right}/{n})")
    print(f"{'label':<10} {'precision':>9} {'recall':>7} {'support':>8}")
    for label in [*LABELS.values(), "neutral"]:
        precision = tp[label] / max(1, tp[label] + fp[label])
        recall = tp[label] / max(1, tp[label] + fn[label])
        print(f"{label:<10} {precision:>9.1%} {recall:>7.1%} {tp[label] + fn[label]:>8}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
