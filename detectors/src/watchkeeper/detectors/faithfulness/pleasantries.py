"""Words of the sentences an assistant wraps its facts in, which state nothing to check."""

from __future__ import annotations

from collections.abc import Iterable

_WORDS = """
let anything else today hope help helps helped helpful feel free ask asking question
happy glad great good sure found please thank thanks welcome whether detail details
assist assistance need needs reach out contact further clarification clarify additional
information info certainly absolutely course hello hi hey morning afternoon evening
day nice wonderful awesome excellent perfect understand understood apologize apology
sorry confusion inconvenience regards best wishes cheers support anytime something
hear love answer answered note noted okay ok alright here summary overview
"""
#: Content words (as ``content_words`` folds them) of greetings, offers of help and thanks.
PLEASANTRY_WORDS = frozenset(_WORDS.split())


def states_nothing(words: Iterable[str]) -> bool:
    """True when every content word of a sentence is a pleasantry's ("Hope this helps!").

    >>> states_nothing(("hope", "help")), states_nothing(("refund", "help"))
    (True, False)
    """
    return PLEASANTRY_WORDS.issuperset(words)
