"""Accuracy tables as pandas DataFrames, saved as CSV and Markdown side by side."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd


def table_frame(rows, index_name="model"):
    """DataFrame from ``{row label: {column: value}}`` keeping the columns' order.

    Example:
        >>> table_frame({"ours": {"Head": 97.1, "Total": 88.0}})
                Head  Total
        model
        ours    97.1   88.0
    """
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = index_name
    return frame


def _format_cell(value, float_format):
    if isinstance(value, float):
        return "" if math.isnan(value) else format(value, float_format)
    return str(value)


def to_markdown(frame, float_format=".1f"):
    """A GitHub-flavoured Markdown table of ``frame`` (index as the first column).

    Args:
        frame: DataFrame.
        float_format: format spec for floats; NaN prints as an empty cell.

    Returns:
        str, one line per row, ending with a newline.

    Example:
        >>> print(to_markdown(table_frame({"ours": {"Total": 88.04}})))
        | model | Total |
        |:------|------:|
        | ours  |  88.0 |
    """
    header = [str(frame.index.name or "")] + [str(c) for c in frame.columns]
    body = [
        [str(label)] + [_format_cell(v, float_format) for v in row]
        for label, row in zip(frame.index, frame.itertuples(index=False))
    ]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    widths = [max(w, 3) for w in widths]

    def line(cells):
        padded = [cells[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return "| " + " | ".join(padded) + " |"

    rule = "|:" + "-" * (widths[0] + 1) + "|"
    rule += "".join("-" * (w + 1) + ":|" for w in widths[1:])
    return "\n".join([line(header), rule, *(line(r) for r in body)]) + "\n"


def save_table(frame, out_dir, name, float_format=".1f"):
    """Write ``frame`` to ``out_dir/name.csv`` and ``out_dir/name.md``.

    Returns:
        (csv_path, markdown_path) as ``Path`` objects.

    Example:
        >>> save_table(table_frame({"ours": table}), "reports/run1", "pckh")
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out_dir / f"{name}.csv", out_dir / f"{name}.md"
    frame.to_csv(csv_path, float_format="%.4f")
    md_path.write_text(to_markdown(frame, float_format))
    return csv_path, md_path
