"""The synonym groups shipped with the claim scorer: what they hold and how they are rebuilt."""

from __future__ import annotations

from pathlib import Path

import pytest
from training.faithfulness.synonyms import WORDNET, main

from watchkeeper.detectors.faithfulness.synonyms import SYNONYMS_FILE, shipped_table


def test_the_shipped_groups_pair_common_words_and_leave_names_alone() -> None:
    """Inflected forms find their synonyms ("made" for "created", "relies" for "uses"
    is not one); capitalised names are not in any group."""
    table = shipped_table()
    assert len(table.groups) > 20_000
    assert table.substitute("made", frozenset({"created", "file"})) == "created"
    assert table.substitute("big", frozenset({"large"})) == "large"
    assert table.substitute("strptime", frozenset({"name"})) is None
    assert table.substitute("paris", frozenset({"france", "capital"})) is None


@pytest.mark.skipif(
    not WORDNET.is_dir(), reason="WordNet not installed (apt-get install wordnet-base)"
)
def test_the_build_script_gives_the_shipped_file_byte_for_byte(tmp_path: Path) -> None:
    """``python -m training.faithfulness.synonyms`` rebuilds exactly what ships."""
    out = tmp_path / "synonyms.txt.gz"
    assert main(["--out", str(out)]) == 0
    assert out.read_bytes() == SYNONYMS_FILE.read_bytes()
