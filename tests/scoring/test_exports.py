"""RiskList exports: CSV safe against formula injection, Excel with an 'About' sheet first,
Parquet with the metadata in its schema."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from riskmodels.scoring import RiskList, escape_formulas, score

NASTY = ['=HYPERLINK("http://evil","x")', "+1+1", "-2", "@SUM(A1)", "\tcmd", "\rcmd"]


@pytest.fixture(scope="module")
def risk_list(bundle, fitted, tmp_path_factory):
    _, _, _, test = fitted
    people = test.drop(columns=["incident", "sex"]).reset_index(drop=True)
    ids = people["record_id"].astype(str).to_numpy(dtype=object)
    ids[: len(NASTY)] = NASTY
    people["record_id"] = pd.array(ids, dtype="str")
    people.loc[len(NASTY), "age"] = 200.0 - 111  # beyond training: a "No score" reason
    log = tmp_path_factory.mktemp("log") / "audit_log.jsonl"
    return score(bundle, people, purpose="prioritise_welfare_review", explain="none", audit_log=log)


@settings(max_examples=60)
@given(st.text(max_size=20))
def test_escaped_text_never_starts_like_a_formula(text):
    out = escape_formulas(pd.Series([text], dtype=object)).iloc[0]
    assert not out.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert out == text or (out == "'" + text and text[:1] in "=+-@\t\r")


def test_numbers_are_not_escaped():
    s = pd.Series([-1.5, 2.0])
    assert escape_formulas(s).equals(s)


def test_csv_escapes_formula_cells_and_carries_the_notice(risk_list, tmp_path):
    path = tmp_path / "list.csv"
    risk_list.to_csv(path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# notice,")
    assert "does not replace, a human decision" in text.splitlines()[0]
    back = pd.read_csv(path, comment="#", keep_default_na=False)
    assert list(back.columns) == list(risk_list.frame.columns)
    assert len(back) == len(risk_list)
    assert back["id"].tolist()[: len(NASTY)] == ["'" + v for v in NASTY]
    for cell in back.astype(str).to_numpy().ravel():
        assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
    np.testing.assert_allclose(
        back["score"].replace("", np.nan).astype(float), risk_list.frame["score"]
    )
    # the raw file holds no cell that begins like a formula either
    for line in text.splitlines():
        for cell in line.split(","):
            assert not cell.strip('"').startswith(("=", "+", "@")), cell


def test_excel_has_the_about_sheet_first_and_no_formulas(risk_list, tmp_path):
    path = tmp_path / "list.xlsx"
    risk_list.to_excel(path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["About this list", "Risk list"]
    about = wb["About this list"]
    assert about["A1"].value == "Decision support only"
    assert about["B1"].value == risk_list.notice
    keys = {row[0].value: row[1].value for row in about.iter_rows(min_row=2)}
    assert keys["model_version"] == risk_list.metadata["model_version"]
    assert keys["purpose"] == "prioritise_welfare_review"
    sheet = wb["Risk list"]
    header = [c.value for c in sheet[1]]
    assert header == list(risk_list.frame.columns)
    assert sheet.max_row == len(risk_list) + 1
    ids = [sheet.cell(row=r, column=1).value for r in range(2, 2 + len(NASTY))]
    # XML stores a carriage return as a line feed; the cell is escaped either way
    assert ids == ["'" + v.replace("\r", "\n") for v in NASTY]
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f"


def test_parquet_keeps_the_metadata(risk_list, tmp_path):
    import pyarrow.parquet as pq

    path = tmp_path / "list.parquet"
    risk_list.to_parquet(path)
    assert b"riskmodels.risk_list" in pq.read_schema(path).metadata
    back = RiskList.from_parquet(path)
    assert back.metadata == risk_list.metadata
    pd.testing.assert_frame_equal(back.frame, risk_list.frame, check_dtype=False)
    assert back.notice == risk_list.notice


def test_exports_are_atomic_and_replace_old_files(risk_list, tmp_path):
    for name, write in [
        ("a.csv", risk_list.to_csv),
        ("a.xlsx", risk_list.to_excel),
        ("a.parquet", risk_list.to_parquet),
    ]:
        (tmp_path / name).write_text("old")
        write(tmp_path / name)
        assert (tmp_path / name).read_bytes() != b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "a.parquet", "a.xlsx"]


def test_missing_text_is_empty_in_every_export_never_the_word_none(risk_list, tmp_path):
    # Under pandas 2.x a numpy "str" column turns a missing value into the text 'None';
    # the decision columns (and reasons, here unexplained) must stay truly empty.
    from riskmodels.scoring._risklist import DECISION_COLUMNS

    empty = list(DECISION_COLUMNS)
    assert risk_list.frame[empty].isna().all().all()
    # unexplained rows have no reasons (only "No score: ..." rows carry one here)
    assert risk_list.frame["reasons"].isna().sum() > 0
    csv_path, xlsx_path, pq_path = tmp_path / "l.csv", tmp_path / "l.xlsx", tmp_path / "l.parquet"
    risk_list.to_csv(csv_path)
    risk_list.to_excel(xlsx_path)
    risk_list.to_parquet(pq_path)
    back = pd.read_csv(csv_path, comment="#", keep_default_na=False, dtype=str)
    assert (back[empty] == "").all().all(), back[empty].head()
    sheet = load_workbook(xlsx_path, read_only=True)["Risk list"]
    rows = list(sheet.iter_rows(values_only=True))
    cols = [rows[0].index(c) for c in empty]
    assert all(row[c] is None for row in rows[1:] for c in cols)
    parquet = pd.read_parquet(pq_path)
    assert parquet[empty].isna().all().all()
    for frame in (back, parquet):
        assert not frame[[*empty, "reasons"]].isin(["None", "nan", "<NA>"]).any().any()
    assert (back["reasons"] == "").sum() == risk_list.frame["reasons"].isna().sum()
