"""Build the tone model's labelled set from the team's written messages: ``messages.tsv``.

    python -m models.tone.dataset        # rewrites models/tone/data/messages.tsv (seeded)

Sources are ``data/written_en.txt`` and ``data/written_ru.txt``: one hand-written customer-chat
message per line, in blocks ``## kind lang labels``. Each line is a *group*: the message with its
``{slots}`` filled, plus chat-style variants of it (lowercase without the full stop, one typo,
an emoji that fits the labels, and for Russian a transliteration in Latin letters). Variants of
one message stay in one split, so no near-duplicate leaks from train into dev or test.

The split is fixed and stratified: within each (kind, language) the groups are ordered by a CRC
of their text and every 7th goes to test, the next to dev, the rest to train.

The 166 phrases of the lexicon's regression set (``tests/client_py/data/tone_phrases.tsv``)
join the train split as they are (kind ``regression``).

Labels are the tone labels of ``client_py.tone.LABELS`` (irritated, urgent, formal, positive;
none = neutral). The block gives them; ``text | labels`` overrides them for one line. The dataset
rule adds ``formal`` to a message that is not irritated and uses a polite formula
(:data:`POLITE`), the same convention the lexicon's regression set follows.
"""

from __future__ import annotations

import random
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DATA", "MESSAGES", "Message", "build", "load", "main"]

DATA = Path(__file__).resolve().parent / "data"
MESSAGES = DATA / "messages.tsv"
SOURCES = ("written_en.txt", "written_ru.txt")
#: The lexicon's regression phrases: plainly worded, train split only (never dev or test).
REGRESSION = DATA.parent.parent.parent / "tests" / "client_py" / "data" / "tone_phrases.tsv"
SEED = 16
LABEL_ORDER = ("irritated", "urgent", "formal", "positive")

POLITE = re.compile(
    r"\b(thank you|please|could you|would you|dear|kind regards|regards|good (morning|afternoon|"
    r"evening)|hello|would it be possible|i would like|i'd like|may i|excuse me|i would "
    r"(appreciate|be grateful)|kindly)\b|здравствуйте|добр(ый|ое) (день|вечер|утро)|пожалуйста|"
    r"спасибо|благодар|будьте (добры|любезны)|не могли бы|подскажите|с уважением|уважаем|"
    r"извините|прошу|признател",
    re.IGNORECASE,
)
SLOTS: dict[str, tuple[str, ...]] = {
    "n": ("48213", "51907", "NW-30418", "77120", "#60254", "39981"),
    "day": ("Friday", "Saturday", "Monday", "Thursday", "Sunday"),
    "time": ("5 pm", "noon", "6:30", "4 o'clock", "2pm"),
    "день": ("к пятнице", "к субботе", "к понедельнику", "завтра", "к четвергу"),
    "день_утро": ("пятницу утром", "субботу утром", "понедельник утром", "среду утром"),
    "время": ("18:00", "обеда", "семи вечера", "пяти", "12"),
}
EMOJI = {
    "irritated": ("🙄", "😤", "😒", "🤦", "😠"),
    "sarcasm": ("🙃", "👏", "🙂", "😀", "🤡"),
    "urgent": ("⏰", "⌛", "😬", "🏃"),
    "positive": ("😊", "🙌", "❤️", "👍", "😍", "🥳"),
    "neutral": ("🤔", "👀"),
    "formal": ("🙏",),
}
_TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        (
            *("a", "b", "v", "g", "d", "e", "yo", "zh", "z", "i", "y", "k", "l", "m", "n", "o"),
            *("p", "r", "s", "t", "u", "f", "h", "ts", "ch", "sh", "sch", "-", "y", "-", "e"),
            *("yu", "ya"),
        ),
        strict=True,
    )
)


@dataclass(frozen=True)
class Message:
    split: str
    group: str
    kind: str
    lang: str
    labels: tuple[str, ...]
    text: str


def _translit(text: str) -> str:
    out = []
    for ch in text.lower().replace("«", '"').replace("»", '"').replace("—", "-"):
        mapped = _TRANSLIT.get(ch, ch)
        out.append("" if mapped == "-" else mapped)
    return "".join(out)


def _typo(text: str, rng: random.Random) -> str:
    words = [m for m in re.finditer(r"[^\W\d_]{5,}", text)]
    if not words:
        return text
    word = rng.choice(words)
    i = rng.randrange(1, len(word.group()) - 2)
    w = word.group()
    w = w[:i] + w[i + 1] + w[i] + w[i + 2 :] if rng.random() < 0.6 else w[:i] + w[i + 1 :]
    return text[: word.start()] + w + text[word.end() :]


def _chat(text: str) -> str:
    """Lowercase chat style: no capitals, no closing full stop, ё as е."""
    return text.lower().replace("ё", "е").rstrip(".").rstrip()


def _emoji(text: str, kind: str, labels: tuple[str, ...], rng: random.Random) -> str:
    pool = EMOJI["sarcasm" if kind == "sarcasm" else (labels[0] if labels else "neutral")]
    return f"{text.rstrip('.')} {rng.choice(pool)}"


def _fill(text: str, rng: random.Random) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: rng.choice(SLOTS[m.group(1)]), text)


def _labels(text: str, block: tuple[str, ...], override: tuple[str, ...] | None) -> tuple[str, ...]:
    if override is not None:
        labels = set(override)
    else:
        labels = set(block)
        if "irritated" not in labels and POLITE.search(text):
            labels.add("formal")
    return tuple(label for label in LABEL_ORDER if label in labels)


def _groups() -> list[tuple[str, str, tuple[str, ...], str]]:
    """(kind, lang, labels, line) of every written message."""
    out = []
    for source in SOURCES:
        kind = lang = ""
        block: tuple[str, ...] = ()
        for raw in (DATA / source).read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if line.startswith("## "):
                kind, lang, labels = line[3:].split()
                block = tuple(x for x in labels.split(",") if x != "neutral")
            elif line and not line.startswith("#"):
                out.append((kind, lang, block, line))
    return out


def build(seed: int = SEED) -> list[Message]:
    rng = random.Random(seed)
    strata: dict[tuple[str, str], list[tuple[str, tuple[str, ...], str]]] = {}
    for kind, lang, block, line in _groups():
        strata.setdefault((kind, lang), []).append((kind, block, line))
    messages: list[Message] = []
    for (kind, lang), groups in strata.items():
        groups.sort(key=lambda g: zlib.crc32(g[2].encode()))
        for i, (_, block, line) in enumerate(groups):
            split = ("test", "dev", "train", "train", "train", "train", "train")[i % 7]
            group = f"{lang}-{kind}-{zlib.crc32(line.encode()):08x}"
            text, _, override = line.partition(" | ")
            labels = _labels(
                text, block, tuple(x for x in override.split(",") if x != "neutral") or None
            ) if override else _labels(text, block, None)  # fmt: skip
            base = _fill(text, rng)
            variants = [base]
            second = _fill(text, rng) if "{" in text else base
            style = rng.choice(("chat", "typo", "emoji", "chat+emoji"))
            if "chat" in style:
                second = _chat(second)
            if "typo" in style:
                second = _typo(second, rng)
            if "emoji" in style:
                second = _emoji(second, kind, labels, rng)
            variants.append(second)
            cyrillic = any("а" <= ch <= "я" for ch in text.lower())
            if cyrillic and kind != "mixed" and rng.random() < 0.45:
                variants.append(_translit(_chat(_fill(text, rng))))
            if rng.random() < 0.4:
                variants.append(_typo(_chat(_fill(text, rng)), rng))
            seen: set[str] = set()
            for variant in variants:
                if variant not in seen:
                    seen.add(variant)
                    messages.append(Message(split, group, kind, lang, labels, variant))
    for line in REGRESSION.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            text, listed = line.split("\t")[:2]
            lang = "ru" if any("а" <= ch <= "я" for ch in text.lower()) else "en"
            group = f"{lang}-regression-{zlib.crc32(text.encode()):08x}"
            wanted = tuple(x for x in LABEL_ORDER if x in listed.split(","))
            messages.append(Message("train", group, "regression", lang, wanted, text))
    return messages


def save(messages: list[Message], path: Path = MESSAGES) -> None:
    lines = ["# split\tgroup\tkind\tlang\tlabels\ttext  (built by python -m models.tone.dataset)"]
    for m in messages:
        lines.append(
            f"{m.split}\t{m.group}\t{m.kind}\t{m.lang}\t{','.join(m.labels) or 'neutral'}\t{m.text}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def load(path: Path = MESSAGES) -> list[Message]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        split, group, kind, lang, labels, text = line.split("\t", 5)
        out.append(
            Message(
                split,
                group,
                kind,
                lang,
                tuple(x for x in labels.split(",") if x != "neutral"),
                text,
            )
        )
    return out


def main() -> None:
    messages = build()
    save(messages)
    by_split: dict[str, int] = {}
    for m in messages:
        by_split[f"{m.split}/{m.lang}"] = by_split.get(f"{m.split}/{m.lang}", 0) + 1
    print(f"{len(messages)} messages in {len({m.group for m in messages})} groups -> {MESSAGES}")
    print("  " + ", ".join(f"{k}: {v}" for k, v in sorted(by_split.items())))


if __name__ == "__main__":
    main()
