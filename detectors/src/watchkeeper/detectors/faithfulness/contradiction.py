"""Cheap signs that a claim says the opposite of its source sentence: negation and antonyms."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

#: Tokens that negate a clause (tokens are lower-cased; "n't" stays inside its word).
NEGATIONS = frozenset(
    {"not", "no", "never", "none", "nor", "neither", "nothing", "nobody", "cannot", "without"}
)

_PAIRS = (
    "true false|before after|first last|larger smaller|bigger smaller|more less|more fewer|"
    "always never|increase decrease|increased decreased|increases decreases|rise fall|"
    "rose fell|minimum maximum|min max|enable disable|enabled disabled|include exclude|"
    "included excluded|lower upper|start end|begin end|beginning end|positive negative|"
    "fast slow|faster slower|old new|older newer|oldest newest|above below|over under|"
    "success failure|succeeded failed|win lose|won lost|winner loser|open close|"
    "opened closed|read write|input output|local global|synchronous asynchronous|"
    "mutable immutable|public private|required optional|explicit implicit|static dynamic|"
    "inside outside|internal external|allowed forbidden|allow deny|accept reject|"
    "accepted rejected|possible impossible|easy hard|easier harder|high low|higher lower|"
    "highest lowest|add remove|added removed|many few|same different|valid invalid|"
    "legal illegal|male female|men women|man woman|boy girl|husband wife|father mother|"
    "son daughter|brother sister|king queen|north south|east west|left right|up down|"
    "buy sell|bought sold|import export|profit loss|gain loss|rich poor|strong weak|"
    "hot cold|warm cool|wet dry|light dark|day night|morning evening|early late|"
    "earlier later|long short|longer shorter|wide narrow|heavy light|full empty|"
    "safe dangerous|healthy sick|alive dead|war peace|guilty innocent|agree disagree|"
    "support oppose|supported opposed|love hate|like dislike|happy sad|good bad|"
    "better worse|best worst|major minor|maximum minimum|majority minority|"
    "entry exit|arrive depart|arrived departed|appear disappear|present absent|"
    "visible invisible|known unknown|likely unlikely|certain uncertain|clear unclear|"
    "correct incorrect|right wrong|include omit|inclusive exclusive|ascending descending|"
    "import export|encode decode|compress decompress|encrypt decrypt|lock unlock|"
    "connect disconnect|attach detach|mount unmount|install uninstall|load unload|"
    "push pull|send receive|sent received|client server|parent child|head tail|"
    "domestic foreign|urban rural|ancient modern|past future|previous next|"
    "forward backward|inner outer|top bottom|front back|cheap expensive|private public"
)

#: word -> the words of opposite meaning it is paired with.
ANTONYMS: dict[str, frozenset[str]] = {}
for _pair in _PAIRS.split("|"):
    _a, _b = _pair.split()
    ANTONYMS[_a] = ANTONYMS.get(_a, frozenset()) | {_b}
    ANTONYMS[_b] = ANTONYMS.get(_b, frozenset()) | {_a}


def negation_count(tokens: Sequence[str]) -> int:
    """How many negating tokens a clause holds ("don't" counts; "not" does).

    >>> negation_count(("it", "does", "not", "work", "and", "won't", "ever"))
    2
    """
    count = sum(map(NEGATIONS.__contains__, tokens))
    joined = " ".join(tokens)
    if "n't" in joined or "n\u2019t" in joined:
        count += sum(1 for t in tokens if t.endswith(("n't", "n\u2019t")))
    return count


def opposed_words(claim: Iterable[str], source: frozenset[str]) -> int:
    """Words of the claim absent from the source whose opposite the source holds.

    >>> opposed_words(("call", "it", "after", "start"), frozenset({"call", "before", "start"}))
    1
    """
    return sum(
        1
        for w in ANTONYMS.keys() & set(claim)
        if w not in source and not ANTONYMS[w].isdisjoint(source)
    )
