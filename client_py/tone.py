"""Chat tone on the device, Russian and English: irritation, urgency, formality, positivity, topics.

Two parts, combined. The lexicon (this module) hears words and stems (Russian morphology is handled
by matching stems: ``заказ`` covers заказа, заказом, заказу…), short phrases, negation (the
next three words after not/no/не/нет…), intensifiers (very, so, очень, совсем…), punctuation
(``!!!``, ``??``), CAPS and emoji. Each dimension's raw evidence ``r`` becomes a score
``1 - exp(-r)`` in [0, 1]. The learned model (``client_py.tone_model``) hears what the words
do not say: sarcasm, repetition, deadlines, transliterated Russian, thanks without praise words.
:func:`analyse` blends both per dimension into one calibrated score (the blend was fitted on the
dev split of ``models/tone``); a label applies from :data:`LABEL_THRESHOLD`. Topics come from the
lexicon alone. ``explain=True`` also says which part fired and on which words.

The text is analysed and dropped: only the scores, labels and topic names (closed vocabularies
in ``client_py.schema``) are kept, and only those may leave the device.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

from .records import field, record
from .schema import TONES, TOPICS

__all__ = [
    "LABELS",
    "LABEL_THRESHOLD",
    "ToneResult",
    "ToneSession",
    "analyse",
    "analyse_lexicon",
]

#: A dimension's label applies from this score.
LABEL_THRESHOLD: Final = 0.5
#: Label per dimension; "neutral" when none applies.
LABELS: Final = {
    "irritation": "irritated",
    "urgency": "urgent",
    "formality": "formal",
    "positivity": "positive",
}

# (stem or word, weight): a token matches when it starts with the stem; "=" marks a whole word.
_IRRITATION: Final = (
    ("terribl", 1.3), ("awful", 1.3), ("horribl", 1.3), ("worst", 1.3), ("ridiculous", 1.3),
    ("unacceptabl", 1.4), ("disgust", 1.3), ("=angry", 1.3), ("annoy", 1.1), ("furious", 1.5),
    ("useless", 1.2), ("=scam", 1.4), ("ripoff", 1.2), ("pathetic", 1.3), ("disappoint", 1.0),
    ("frustrat", 1.2), ("incompetent", 1.4), ("nonsense", 1.0), ("=wtf", 1.4), ("=damn", 1.0),
    ("=crap", 1.2), ("=sucks", 1.2), ("=rubbish", 1.2), ("=joke", 0.8), ("ignor", 0.9),
    ("=waste", 1.0), ("complain", 0.8), ("outrage", 1.4), ("=fed", 0.3), ("=still", 0.5),
    ("=again", 0.4), ("=nobody", 0.7), ("=hell", 0.7), ("=upset", 1.1), ("=mad", 1.0),
    ("ужас", 1.3), ("кошмар", 1.3), ("отврат", 1.4), ("безобраз", 1.4), ("возмут", 1.4),
    ("бесит", 1.4), ("бесят", 1.4), ("надоел", 1.3), ("=достали", 1.2), ("задолба", 1.4),
    ("обман", 1.3), ("мошен", 1.4), ("=развод", 1.0), ("хамств", 1.3), ("хамят", 1.2),
    ("разочаров", 1.0), ("худш", 1.3), ("позор", 1.3), ("издева", 1.4), ("бардак", 1.3),
    ("отстой", 1.3), ("фигн", 1.0), ("=черт", 0.8), ("=блин", 0.8), ("жалоб", 0.8),
    ("=опять", 0.7), ("=снова", 0.4), ("=никто", 0.7), ("игнор", 0.9), ("=хватит", 1.0),
    ("=злой", 1.0), ("злюсь", 1.2), ("недоволен", 1.1), ("недовольн", 1.1), ("=бред", 1.0),
)  # fmt: skip
_IRRITATION_PHRASES: Final = (
    (" fed up", 1.3), (" sick of", 1.2), (" rip off", 1.2), (" what the hell", 1.4),
    (" never again", 1.1), (" still waiting", 1.0), (" still not", 0.7), (" where is my", 0.5),
    (" where s my", 0.5), (" how long do i", 0.8), (" third time", 1.0), (" третий раз", 1.0),
    (" no one", 0.7), (" not working", 0.7),
    (" doesn t work", 0.7), (" does not work", 0.7), (" nobody answer", 0.6),
    (" waste of", 0.4), (" for weeks", 0.6), (" a week", 0.4), (" so long", 0.5),
    (" сколько можно", 1.3), (" до сих пор", 1.0), (" где мой", 0.8), (" где моя", 0.8),
    (" где мои", 0.8), (" не работает", 0.8), (" уже недел", 0.8), (" уже месяц", 0.9),
    (" уже дв", 0.6), (" уже тр", 0.6), (" верните деньги", 0.9), (" никто не", 0.6),
    (" ни ответа", 1.0), (" что за", 0.6), (" жду уже", 0.5),
)  # fmt: skip
_URGENCY: Final = (
    ("=asap", 1.5), ("urgent", 1.5), ("immediately", 1.4), ("=hurry", 1.3), ("=quickly", 0.8),
    ("=quick", 0.5), ("=fast", 0.6), ("=faster", 0.8), ("deadline", 1.1), ("emergency", 1.4),
    ("=today", 0.9), ("=tonight", 0.9), ("=tomorrow", 0.8), ("=now", 0.6), ("=waiting", 0.6),
    ("=express", 0.6), ("=rush", 0.8), ("=soon", 0.4),
    ("срочн", 1.5), ("немедлен", 1.4), ("=быстр", 0.8), ("=быстрее", 1.0), ("=скорее", 1.0),
    ("поскорее", 1.2), ("=сегодня", 0.9), ("=завтра", 0.8), ("=сейчас", 0.6), ("=жду", 0.7),
    ("=ждём", 0.6), ("=ждем", 0.6), ("экспресс", 0.6), ("успе", 0.7), ("горит", 0.9),
    ("=быстро", 0.8),
)  # fmt: skip
_URGENCY_PHRASES: Final = (
    (" right now", 1.3), (" right away", 1.3), (" as soon as possible", 1.5),
    (" as soon as", 0.8), (" need it by", 1.1), (" need it for", 0.7), (" same day", 0.9),
    (" next day", 0.7), (" in time", 0.7), (" still waiting", 0.8), (" where is my", 0.8),
    (" where s my", 0.8), (" still not", 0.6), (" how fast", 0.8), (" leaving on", 0.5),
    (" how long", 0.5), (" when will", 0.5), (" by friday", 0.7),
    (" by monday", 0.7), (" this week", 0.4), (" прямо сейчас", 1.3), (" когда уже", 1.1),
    (" когда будет", 0.5), (" когда прид", 0.6), (" как можно скорее", 1.5),
    (" как можно быстрее", 1.5), (" до завтра", 0.9), (" к завтра", 0.9), (" к пятниц", 0.8),
    (" сколько можно", 0.6), (" где мой", 0.8), (" где моя", 0.8), (" жду уже", 0.5),
)  # fmt: skip
_URGENCY_OFF: Final = (
    " no rush", " no hurry", " not urgent", " whenever", " not in a hurry", " не срочно",
    " не спеш", " не тороп", " не горит", " когда будет время", " take your time",
)  # fmt: skip
_POSITIVITY: Final = (
    ("=great", 1.0), ("=love", 1.1), ("=loved", 1.1), ("=loving", 1.1), ("excellent", 1.3),
    ("awesome", 1.3), ("amazing", 1.3), ("perfect", 1.2), ("wonderful", 1.3), ("fantastic", 1.3),
    ("=happy", 1.0), ("=glad", 0.8), ("=nice", 0.8), ("=good", 0.6), ("=best", 0.8),
    ("brilliant", 1.2), ("superb", 1.3), ("=pleased", 0.9), ("satisf", 0.9), ("impress", 1.0),
    ("recommend", 0.8), ("enjoy", 1.0), ("=cool", 0.7), ("delight", 1.3), ("=helpful", 0.8),
    ("=thrilled", 1.3), ("=lovely", 1.1), ("=beautiful", 1.0),
    ("отличн", 1.3), ("=отлично", 1.3), ("супер", 1.2), ("=класс", 1.0), ("классн", 1.1),
    ("прекрас", 1.3), ("замечатель", 1.3), ("восхит", 1.4), ("нравит", 1.0), ("понрав", 1.0),
    ("=люблю", 1.0), ("=рад", 0.9), ("=рада", 0.9), ("доволен", 1.0), ("довольн", 1.0),
    ("=круто", 1.1), ("=крутые", 1.0), ("хорош", 0.7), ("молодц", 1.2), ("шикар", 1.3),
    ("=лучший", 0.8), ("=лучшие", 0.8), ("идеальн", 1.1), ("удобн", 0.6), ("чудес", 1.2),
    ("=кайф", 1.1), ("обожаю", 1.3), ("радует", 1.0), ("порадова", 1.0),
)  # fmt: skip
_POSITIVITY_PHRASES: Final = (
    (" thank you so much", 0.5), (" thanks a lot", 0.4), (" well done", 1.0),
    (" спасибо большое", 0.4), (" огромное спасибо", 0.5), (" всё супер", 0.5),
)  # fmt: skip
_POLITE: Final = (
    ("=please", 0.9), ("=thanks", 0.5), ("=kindly", 1.2), ("=dear", 1.0), ("regards", 1.1),
    ("appreciat", 0.8), ("sincerely", 1.2), ("=hello", 0.5), ("=sorry", 0.4), ("grateful", 0.9),
    ("пожалуйста", 0.9), ("=спасибо", 0.7), ("благодар", 1.0), ("подскажите", 0.9),
    ("здравствуйте", 1.0), ("уважаем", 1.2), ("извините", 0.8), ("=прошу", 0.6),
)  # fmt: skip
_POLITE_PHRASES: Final = (
    (" thank you", 0.9), (" kind regards", 0.5), (" could you", 0.7), (" would you", 0.7),
    (" would it be possible", 1.0), (" i would like", 0.8), (" i d like", 0.4), (" may i", 0.8),
    (" good morning", 0.9), (" good afternoon", 0.9), (" good evening", 0.9),
    (" excuse me", 0.8), (" i wonder", 0.6), (" будьте добры", 1.3), (" будьте любезны", 1.3),
    (" не могли бы", 1.1), (" не подскажете", 1.1), (" добрый день", 1.0),
    (" добрый вечер", 1.0), (" доброе утро", 1.0), (" с уважением", 1.2),
    (" заранее спасибо", 0.8), (" прошу прощения", 0.6), (" could i", 0.6),
    (" can you please", 0.3),
)  # fmt: skip
_INFORMAL: Final = (
    ("=hey", 0.4), ("=yo", 0.8), ("=lol", 0.8), ("=u", 0.5), ("=plz", 0.4), ("=pls", 0.3),
    ("=thx", 0.4), ("=gonna", 0.6), ("=wanna", 0.6), ("=dude", 0.8), ("=привет", 0.6),
    ("=плиз", 0.5), ("=пжл", 0.5), ("=спс", 0.5), ("=ты", 0.5), ("=чё", 0.8), ("=че", 0.6),
    ("=ваще", 0.6), ("=норм", 0.4), ("=ок", 0.2), ("=ok", 0.2), ("=wtf", 0.8), ("=damn", 0.5),
    ("=блин", 0.6), ("=черт", 0.5),
)  # fmt: skip

_TOPICS: Final[dict[str, tuple[str, ...]]] = {
    "warranty": (
        "warrant", "guarante", "repair", "defect", "=broke", "=broken", "гаранти", "гарант",
        "ремонт", "сломал", "слома", "поломк", "дефект", "=брак",
    ),
    "returns": (
        "=return", "=returns", "=returning", "refund", "exchang", "возврат", "вернуть", "=верну",
        "=верните", "=вернуть", "обмен", "возвращ",
    ),
    "delivery": (
        "deliver", "shipping", "=ship", "=ships", "shipp", "courier", "=arrive", "=arrives",
        "express", "pickup", "доставк", "достав", "курьер", "привез", "привоз", "экспресс",
        "самовывоз",
    ),
    "price": (
        "=price", "=prices", "=cost", "=costs", "expensive", "cheap", "=цена", "=цену", "=цены",
        "=ценой", "=цене", "стоим", "=стоит", "дорог", "дешев", "дешёв", "переплат",
    ),
    "insurance": ("insur", "страхов", "страховк"),
    "order_status": ("tracking", "=track", "трек", "отслеж"),
    "payment": (
        "=pay", "payment", "=paid", "=card", "paypal", "invoice", "оплат", "=карта", "=картой",
        "=карту", "=счет", "=счёт", "рассроч", "installment", "=sepa",
    ),
    "product": (
        "=spec", "=specs", "specification", "battery", "bluetooth", "=weight", "compatib",
        "=noise", "=sound", "характеристик", "батаре", "аккумулятор", "звук", "=вес", "совмест",
        "шумоподав",
    ),
    "contacts": (
        "=phone", "=call", "contact", "manager", "operator", "=human", "=support", "телефон",
        "позвон", "=связь", "связат", "оператор", "менеджер", "поддержк", "контакт",
    ),
    "discount": ("discount", "coupon", "=promo", "promocode", "=sale", "скидк", "промокод",
                 "купон", "=акция", "акци"),
}  # fmt: skip
_TOPIC_PHRASES: Final[dict[str, tuple[str, ...]]] = {
    "order_status": (
        " order status", " where is my order", " where s my order", " my order", " hasn t arrived",
        " has not arrived", " not arrived", " didn t arrive", " did not arrive",
        " not received", " haven t received", " have not received", " order number",
        " статус заказ", " где мой заказ", " мой заказ", " моего заказ", " моему заказ",
        " номер заказ", " заказ не приш", " не пришел", " не пришёл", " не пришла",
        " не получил", " где посылк", " где моя посылк",
    ),
    "price": (" how much", " сколько стоит", " по чем", " почём"),
    "returns": (" send it back", " send back", " money back", " деньги назад", " сдать обратно"),
    "contacts": (" speak to", " talk to", " real person", " живой человек", " связаться"),
    "delivery": (" when will it arrive", " когда прид", " когда привез"),
}  # fmt: skip

_NEGATORS: Final = frozenset(
    {"not", "no", "never", "dont", "don", "doesnt", "didnt", "isnt", "wasnt", "cant", "cannot"}
    | {"wont", "nothing", "hardly", "не", "нет", "ни", "никогда", "нисколько"}
)
_INTENSIFIERS: Final = frozenset(
    {"very", "so", "really", "extremely", "absolutely", "totally", "completely", "too", "super"}
    | {"очень", "совсем", "крайне", "абсолютно", "вообще", "реально", "так", "слишком", "просто"}
)
_NOT_SHOUTING: Final = frozenset({"USB", "ANC", "DHL", "SEPA", "VAT", "EUR", "USA", "OK", "FAQ"})
_ANGRY_EMOJI: Final = frozenset("😡🤬😠💢👎😤😒🙄😩😫")
_HAPPY_EMOJI: Final = frozenset("😊🙂😀😃😄😁😍🥰👍🎉💯🤩😎❤♥💖")
_URGENT_EMOJI: Final = frozenset("⏰⌛⏳🔥🚨")
_POLITE_EMOJI: Final = frozenset("🙏")
_EMOJI_WEIGHTS: Final = (
    ("irritation", _ANGRY_EMOJI, 1.0),
    ("positivity", _HAPPY_EMOJI, 0.9),
    ("urgency", _URGENT_EMOJI, 0.9),
    ("formality", _POLITE_EMOJI, 0.6),
)

_CONTRACTION: Final = re.compile(r"n['’]t\b", re.IGNORECASE)
_TOKEN: Final = re.compile(r"[^\W_]+|[,.;:!?]", re.UNICODE)
_WORD: Final = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
_FORMAL_YOU: Final = re.compile(r"(?<![.!?]\s)(?<!^)\b(Вы|Вас|Вам|Вами|Ваш\w*)\b")


@record(frozen=True)
class ToneResult:
    scores: dict[str, float]
    labels: tuple[str, ...]
    topics: tuple[str, ...]
    #: each part's own scores ("lexicon", "learned"); empty for the lexicon alone
    parts: dict[str, dict[str, float]] = field(default_factory=dict)
    #: per applied label, the parts that gave it on their own ("lexicon", "learned"), or
    #: ("combined",) when only the two together reach the threshold
    fired: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: only with explain=True: per dimension, "lexicon: word" / "learned: word" evidence. Words of
    #: the text: for the person at the terminal only, never stored or sent.
    reasons: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "labels": list(self.labels),
            "scores": {k: round(v, 2) for k, v in self.scores.items()},
            "topics": list(self.topics),
        }
        if self.parts:
            out["parts"] = {
                part: {k: round(v, 2) for k, v in scores.items()}
                for part, scores in self.parts.items()
            }
            out["fired"] = {label: list(parts) for label, parts in self.fired.items()}
        if self.reasons:
            out["reasons"] = {k: list(v) for k, v in self.reasons.items()}
        return out


class _Index:
    """A lexicon looked up by a token's first two letters instead of scanned: the same match as
    scanning the list in order (the first entry that matches wins), at a fraction of the cost."""

    def __init__(self, entries: tuple[tuple[str, float], ...]) -> None:
        self.exact: dict[str, tuple[int, float]] = {}
        self.stems: dict[str, list[tuple[int, str, float]]] = {}
        for i, (stem, weight) in enumerate(entries):
            if stem[0] == "=":
                self.exact.setdefault(stem[1:], (i, weight))
            else:  # every stem has at least 4 letters
                self.stems.setdefault(stem[:2], []).append((i, stem, weight))

    def hit(self, token: str) -> float:
        best = self.exact.get(token)
        for i, stem, weight in self.stems.get(token[:2], ()):
            if token.startswith(stem):
                if best is None or i < best[0]:
                    best = (i, weight)
                break
        return best[1] if best else 0.0


_INDEXES: Final = tuple(
    _Index(lexicon) for lexicon in (_IRRITATION, _URGENCY, _POSITIVITY, _POLITE, _INFORMAL)
)
_TOPIC_INDEXES: Final = {
    topic: _Index(tuple((stem, 1.0) for stem in stems)) for topic, stems in _TOPICS.items()
}


def _token(token: str) -> tuple[tuple[float, ...], tuple[str, ...]]:
    """(irritation, urgency, positivity, polite, informal) weights and topics of one token.

    Not cached across messages: no word of a message outlives its analysis.
    """
    return (
        tuple(index.hit(token) for index in _INDEXES),
        tuple(topic for topic, index in _TOPIC_INDEXES.items() if index.hit(token)),
    )


def _phrases(
    text: str, phrases: tuple[tuple[str, float], ...], hits: list[str] | None = None
) -> float:
    found = [(phrase, weight) for phrase, weight in phrases if phrase in text]
    if hits is not None:
        hits.extend(phrase.strip() for phrase, _ in found)
    return sum(weight for _, weight in found)


def _of(hits: dict[str, list[str]] | None, name: str) -> list[str] | None:
    return None if hits is None else hits[name]


def _score(raw: float) -> float:
    return 0.0 if raw <= 0 else 1.0 - math.exp(-raw)


def analyse(text: str, *, explain: bool = False) -> ToneResult:
    """Tone scores, labels and topics of one chat message: lexicon and learned model combined.

    The text is not kept; with ``explain`` the result also names the words each part fired on
    (for ``rapport tone``; the worker never asks for them).
    """
    # Imported by the first chat message, not at the worker's boot: a page without chat never
    # needs it (see Agent.affect for what the deferred imports save).
    from . import tone_model

    lexicon = analyse_lexicon(text, explain=explain)
    model = tone_model.load()
    if model is None or not text.strip():
        return lexicon
    learned = model.predict(text)
    scores = {k: round(v, 4) for k, v in model.blend_scores(learned, lexicon.scores).items()}
    labels = tuple(LABELS[name] for name in TONES if scores[name] >= LABEL_THRESHOLD)
    fired: dict[str, tuple[str, ...]] = {}
    for name in TONES:
        if scores[name] >= LABEL_THRESHOLD:
            alone = tuple(
                part
                for part, part_scores in (("lexicon", lexicon.scores), ("learned", learned))
                if part_scores[name] >= LABEL_THRESHOLD
            )
            fired[LABELS[name]] = alone or ("combined",)
    reasons: dict[str, tuple[str, ...]] = {}
    if explain:
        for name in TONES:
            said = [*lexicon.reasons.get(name, ())]
            if learned[name] >= 0.3:
                said += [f"learned: {word}" for word in model.evidence(text, name)]
            if said:
                reasons[name] = tuple(said)
    return ToneResult(
        scores,
        labels or ("neutral",),
        lexicon.topics,
        parts={"lexicon": lexicon.scores, "learned": {k: round(v, 4) for k, v in learned.items()}},
        fired=fired,
        reasons=reasons,
    )


def analyse_lexicon(text: str, *, explain: bool = False) -> ToneResult:
    """The lexicon's own tone scores, labels and topics (no learned model)."""
    hits: dict[str, list[str]] | None = {name: [] for name in TONES} if explain else None
    raw_text = _CONTRACTION.sub(" not", text[:2_000])
    tokens = [
        "," if t in ",.;:!?" else t.lower().replace("ё", "е") for t in _TOKEN.findall(raw_text)
    ]
    joined = " " + " ".join(t for t in tokens if t != ",") + " "
    raw = dict.fromkeys(TONES, 0.0)
    negate_left, boost = 0, 1.0
    informal = 0.0
    for token in tokens:
        if token == ",":
            negate_left, boost = 0, 1.0  # negation and intensity end with the clause
            continue
        if token in _NEGATORS:
            negate_left = 3
            continue
        if token in _INTENSIFIERS:
            boost = 1.5
            continue
        (irritation, urgency, positivity, polite, informal_hit), _ = _token(token)
        informal += informal_hit
        if negate_left > 0:
            # "not happy" reads as discontent; "not bad", "not urgent" cancel themselves.
            raw["irritation"] += 1.2 * positivity * boost
            raw["positivity"] += 0.3 * irritation
            irritation = urgency = positivity = 0.0
        raw["irritation"] += irritation * boost
        raw["urgency"] += urgency * boost
        raw["positivity"] += positivity * boost
        raw["formality"] += polite
        if hits is not None:
            for name, weight in zip(TONES, (irritation, urgency, polite, positivity), strict=True):
                if weight:
                    hits[name].append(token)
        if irritation or urgency or positivity:
            boost = 1.0
        negate_left = max(0, negate_left - 1)
    raw["irritation"] += _phrases(joined, _IRRITATION_PHRASES, _of(hits, "irritation"))
    raw["urgency"] += _phrases(joined, _URGENCY_PHRASES, _of(hits, "urgency"))
    raw["positivity"] += _phrases(joined, _POSITIVITY_PHRASES, _of(hits, "positivity"))
    raw["formality"] += _phrases(joined, _POLITE_PHRASES, _of(hits, "formality"))
    if any(phrase in joined for phrase in _URGENCY_OFF):
        raw["urgency"] = 0.0
    if _FORMAL_YOU.search(raw_text):
        raw["formality"] += 0.6

    # Punctuation, CAPS and emoji amplify what the words already say.
    questions = max((len(m) for m in re.findall(r"\?{2,}", raw_text)), default=0)
    bangs = max((len(m) for m in re.findall(r"!{2,}", raw_text)), default=0)
    mixed = re.search(r"[!?]{2,}", raw_text) is not None and "?" in raw_text and "!" in raw_text
    words = _WORD.findall(raw_text)
    shouted = [w for w in words if w.isupper() and w not in _NOT_SHOUTING]
    shouting = len(shouted) >= 2 or (len(shouted) == 1 and len(words) <= 3)
    if questions >= 2:
        raw["irritation"] += 0.5
        raw["urgency"] += 0.5
    if bangs >= 2:
        if raw["positivity"] > max(raw["irritation"], raw["urgency"]):
            raw["positivity"] += 0.5
        else:
            raw["irritation"] += 0.7 if raw["irritation"] or raw["urgency"] else 0.3
            raw["urgency"] += 0.4 if raw["urgency"] else 0.0
    if mixed:
        raw["irritation"] += 0.3
    if shouting:
        if raw["positivity"] > raw["irritation"]:
            raw["positivity"] += 0.8
        else:
            raw["irritation"] += 1.0
            raw["urgency"] += 0.3
        informal += 0.5
    for char in raw_text:
        for name, emoji, weight in _EMOJI_WEIGHTS:
            if char in emoji:
                raw[name] += weight
                if hits is not None:
                    hits[name].append(char)
                break
    if hits is not None:
        marks = (("!!", bangs >= 2), ("??", questions >= 2), ("CAPS", shouting))
        for mark, present in marks:
            if present:
                hits["irritation" if mark != "CAPS" or raw["irritation"] else "positivity"].append(
                    mark
                )
    # Discontent and familiarity lower formality; discontent outweighs a polite smile.
    raw["formality"] -= informal + 0.5 * raw["irritation"]
    # Speed words in praise ("delivered super fast, excellent") are not time pressure.
    raw["urgency"] -= 0.5 * raw["positivity"]
    positivity_before = raw["positivity"]
    raw["positivity"] -= 0.8 * raw["irritation"]
    raw["irritation"] -= 0.5 * positivity_before

    scores = {name: round(_score(value), 4) for name, value in raw.items()}
    labels = tuple(LABELS[name] for name in TONES if scores[name] >= LABEL_THRESHOLD)
    reasons = {
        name: tuple(f"lexicon: {word}" for word in dict.fromkeys(said))
        for name, said in (hits or {}).items()
        if said and scores[name] > 0
    }
    return ToneResult(scores, labels or ("neutral",), _topics(tokens, joined), reasons=reasons)


def _topics(tokens: list[str], joined: str) -> tuple[str, ...]:
    found: set[str] = set()
    for token in tokens:
        found.update(_token(token)[1])
    for topic, phrases in _TOPIC_PHRASES.items():
        if any(phrase in joined for phrase in phrases):
            found.add(topic)
    has_order = any(t.startswith(("order", "заказ", "посылк", "parcel", "package")) for t in tokens)
    asks_where = any(t in ("where", "где", "когда", "when") for t in tokens)
    if has_order and asks_where:
        found.add("order_status")
    return tuple(topic for topic in TOPICS if topic in found)


@record
class ToneSession:
    """Tone over a session's chat messages: decayed maxima and how often each topic came up."""

    scores: dict[str, float] = field(default_factory=dict)
    topics: dict[str, int] = field(default_factory=dict)
    messages: int = 0
    #: weight kept by the previous level when a new message arrives
    decay: float = 0.6
    _last_hash: int | None = None
    _last_t: float = float("-inf")

    def add(self, text: str, t: float) -> ToneResult | None:
        """Analyse one message; the same text again within 3 s (Enter + submit) is ignored."""
        digest = hash(text.strip())
        if digest == self._last_hash and t - self._last_t < 3_000:
            return None
        self._last_hash, self._last_t = digest, t
        if not text.strip():
            return None
        result = analyse(text)
        self.messages += 1
        for name in TONES:
            self.scores[name] = max(result.scores[name], self.scores.get(name, 0.0) * self.decay)
        for topic in result.topics:
            self.topics[topic] = self.topics.get(topic, 0) + 1
        return result

    def score(self, name: str) -> float:
        return self.scores.get(name, 0.0)

    def snapshot(self) -> dict[str, Any]:
        return {"scores": dict(self.scores), "topics": dict(self.topics), "messages": self.messages}

    @classmethod
    def restore(cls, data: object) -> ToneSession:
        session = cls()
        if not isinstance(data, dict):
            return session
        scores, topics, messages = data.get("scores"), data.get("topics"), data.get("messages")
        if isinstance(scores, dict):
            session.scores = {
                k: float(v)
                for k, v in scores.items()
                if k in TONES and isinstance(v, int | float) and 0 <= v <= 1
            }
        if isinstance(topics, dict):
            session.topics = {
                k: v
                for k, v in topics.items()
                if k in TOPICS and isinstance(v, int) and not isinstance(v, bool) and 0 < v < 10_000
            }
        if isinstance(messages, int) and not isinstance(messages, bool) and messages >= 0:
            session.messages = messages
        return session
