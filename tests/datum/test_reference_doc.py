from pathlib import Path

from b00t_pulumi.datum.reference import BEGIN, END, reference


def test_docs_datums_md_holds_the_generated_reference(repo: Path) -> None:
    text = (repo / "docs" / "datums.md").read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    assert text[start:end] == reference(), "regenerate: python -m b00t_pulumi.datum.reference (see docs/datums.md)"
