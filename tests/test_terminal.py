"""Exact small cases for plain-text docstrings and terminal tables."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from poisonlab._describe import plain
from poisonlab._terminal import Column, fit_columns, print_table


def test_plain_strips_rst_markup_and_keeps_paragraphs():
    text = (
        "**Scores.** x = 2**32 - 1 and **Per-sample\n    scores.** see :func:`sklearn.base.clone`,"
        " :class:`~a.b.C`, :mod:`x <y.z>`, ``a\n b``, *emph*, a * b * c.\n\nNext para."
    )
    assert plain(text) == (
        "Scores. x = 2**32 - 1 and Per-sample scores. see sklearn.base.clone, C, x, a b, emph, "
        "a * b * c.\n\nNext para."
    )


COLUMNS = [
    Column("a", "alpha"),
    Column("b", "b", drop=2),
    Column("c", "gamma", drop=1),
    Column("d", "what", prose=True),
]


def test_fit_columns_drops_the_highest_drop_first_and_keeps_the_rest():
    texts = [{"a": "x" * 10, "b": "y" * 10, "c": "z" * 10, "d": "words " * 20}]
    # 4 + 3 * 3 + 10 + 10 + 10 + 24 = 67
    assert [c.key for c in fit_columns(COLUMNS, texts, 67)] == ["a", "b", "c", "d"]
    assert [c.key for c in fit_columns(COLUMNS, texts, 66)] == ["a", "c", "d"]
    assert [c.key for c in fit_columns(COLUMNS, texts, 40)] == ["a", "d"]
    assert [c.key for c in fit_columns(COLUMNS, texts, 10)] == ["a", "d"]  # never below drop=0


def test_print_table_is_tsv_off_a_terminal_and_a_table_on_one():
    rows = [{"a": "label_flip", "b": 0.5, "c": None, "d": "tab\there"}]
    out = io.StringIO()
    print_table(Console(file=out, force_terminal=False), COLUMNS, rows, title="T")
    assert out.getvalue() == "a\tb\tc\td\nlabel_flip\t0.5\t\ttab here\n"
    out = io.StringIO()
    print_table(Console(file=out, force_terminal=True, width=40, color_system=None), COLUMNS, rows)
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 40 and "label_flip" in out.getvalue()
    assert "alpha" in lines[1] and "gamma" not in out.getvalue()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(
            st.one_of(st.none(), st.text(), st.floats(), st.integers()), min_size=4, max_size=4
        ),
        max_size=5,
    )
)
def test_tsv_has_one_line_per_row_and_one_field_per_column(values):
    rows = [dict(zip("abcd", row, strict=True)) for row in values]
    out = io.StringIO()
    print_table(Console(file=out, force_terminal=False), COLUMNS, rows)
    lines = out.getvalue().split("\n")
    assert lines[-1] == "" and len(lines) == len(rows) + 2
    assert all(line.count("\t") == 3 for line in lines[:-1])


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab *`:\n~<>.")), max_size=40))
def test_plain_is_one_line_per_paragraph_and_stable(text):
    once = plain(text)
    assert "\n\n\n" not in once and not once.startswith("\n")
    assert all(p == " ".join(p.split()) and p for p in once.split("\n\n")) or once == ""
