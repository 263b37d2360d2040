"""CSV cells a spreadsheet would run as a formula are neutralised; everything else is left as it was."""
import pandas as pd

from annotation import csvsafe


def test_risky_text_gets_an_apostrophe_and_numbers_do_not():
    risky = ["=1+2", "+31 6", "-x", "@SUM(A1)", "\tcmd", "\rcmd"]
    assert [csvsafe.cell(v) for v in risky] == ["'" + v for v in risky]
    assert csvsafe.row(["fine", -1.5, 3, None, "a=b", ""]) == ["fine", -1.5, 3, None, "a=b", ""]


def test_a_frame_keeps_its_numbers_and_changes_only_risky_text():
    table = pd.DataFrame({"reason": ["=HYPERLINK(\"x\")", "blurry mouth", None], "score": [-1, 2, 3]})
    safe = csvsafe.frame(table)
    assert safe["reason"].tolist()[:2] == ["'=HYPERLINK(\"x\")", "blurry mouth"] and pd.isna(safe["reason"][2])
    assert safe["score"].tolist() == [-1, 2, 3] and table["reason"][0].startswith("=")  # the input is not changed
