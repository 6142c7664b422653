"""Word lists of the text analysis: stopwords and the function words of common languages.

Kept apart so the Python code and the compiled core (:mod:`~watchkeeper.detectors.native_core`)
read one copy.
"""

from __future__ import annotations

# A word list reads better as text than as 170 quoted strings.
STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are aren't as at be because
    been before being below between both but by can can't cannot could couldn't did didn't
    do does doesn't doing don't down during each few for from further get got had hadn't
    has hasn't have haven't having he he'd he'll he's her here here's hers herself him
    himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself just
    let's me more most mustn't my myself no nor not now of off on once only or other ought
    our ours ourselves out over own please same shan't she she'd she'll she's should
    shouldn't so some such tell than that that's the their theirs them themselves then there
    there's these they they'd they'll they're they've this those through to too under until
    up us very was wasn't we we'd we'll we're we've were weren't what what's when when's
    where where's which while who who's whom why why's will with won't would wouldn't you
    you'd you'll you're you've your yours yourself yourselves hi hey hello thanks thank
    okay ok yes yeah know like want need one would
    """.split()  # noqa: SIM905
)

_FUNCTION_WORDS = {
    "en": "the and is are you what how to of in it for with this that my can do",
    "es": "el la los las es que de en por para con una un como qué cómo está mi",
    "fr": "le la les est et que de des une un pour dans avec je vous comment est-ce",
    "de": "der die das ist und nicht ein eine ich sie wie was mit für zu auf",
    "pt": "o os as é que de em para com uma um não como você está meu",
    "it": "il lo gli è che di per con una un non come sono della questo",
    "nl": "de het een is en van niet ik je hoe wat met voor op dat",
    "sv": "och att det är som en på för med jag inte hur vad",
    "tr": "bir ve bu ne nasıl için ile mi mı değil ben sen çok",  # noqa: RUF001 - Turkish dotless i
    "id": "yang dan di ini itu dengan untuk apa bagaimana saya tidak ada",
}
#: Function word -> the languages it is a function word of.
LANGUAGE_OF: dict[str, tuple[str, ...]] = {}
for _lang, _words in _FUNCTION_WORDS.items():
    for _w in _words.split():
        LANGUAGE_OF[_w] = (*LANGUAGE_OF.get(_w, ()), _lang)
