"""Tables: Markdown rendering and CSV / Markdown files."""

import pandas as pd

from hg_keras.evaluation.report import save_table, table_frame, to_markdown


def test_markdown_table_rounds_floats_and_leaves_nan_empty():
    frame = table_frame({"ours": {"Head": 97.14, "Total": float("nan")},
                         "ref": {"Head": 98.2, "Total": 90.94}})
    assert to_markdown(frame) == (
        "| model | Head | Total |\n"
        "|:------|-----:|------:|\n"
        "| ours  | 97.1 |       |\n"
        "| ref   | 98.2 |  90.9 |\n"
    )


def test_save_table_writes_csv_and_markdown(tmp_path):
    frame = table_frame({"ours": {"Head": 97.14, "Total": 88.0}})
    csv_path, md_path = save_table(frame, tmp_path / "report", "pckh")
    assert md_path.read_text() == to_markdown(frame)
    back = pd.read_csv(csv_path, index_col="model")
    assert back.loc["ours", "Head"] == 97.14 and list(back.columns) == ["Head", "Total"]
