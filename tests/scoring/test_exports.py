"""RiskList exports: an XLSX for daily use (list sheet first, filters, formats, drop-downs,
print set-up, an About sheet in words), a CSV that pandas and spreadsheets open as it is
(notice column plus a sidecar), Parquet with exact values and metadata, a short HTML
table; text made safe (formulas, control characters) in everything a person opens; one
sheet or file per value with ``split_by``."""

from __future__ import annotations

import csv
import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from riskmodels.errors import SchemaError
from riskmodels.scoring import (
    DECISION_COLUMNS,
    DECISION_OPTIONS,
    RiskList,
    escape_formulas,
    score,
)
from riskmodels.scoring._risklist import SCORE_FORMAT

NASTY = ['=HYPERLINK("http://evil","x")', "+1+1", "-2", "@SUM(A1)", "\tcmd", "\rcmd"]
ESC_ID = "ab\x1b[31mcd"  # an ANSI colour code: openpyxl refused it (IllegalCharacterError)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NOTICE = (
    "DECISION SUPPORT ONLY. This list supports, and does not replace, a human decision: "
    "a member of staff reviews every row."
)


@pytest.fixture(scope="module")
def risk_list(bundle, fitted, tmp_path_factory):
    """A list from the governed path whose ids include formulas and an ESC character, and
    one row with no score."""
    _, _, _, test = fitted
    people = test.drop(columns=["incident", "sex"]).reset_index(drop=True)
    ids = people["record_id"].astype(str).to_numpy(dtype=object)
    ids[: len(NASTY)] = NASTY
    ids[len(NASTY) + 1] = ESC_ID
    people["record_id"] = pd.array(ids, dtype="str")
    people.loc[len(NASTY), "age"] = 200.0 - 111  # beyond training: a "No score" reason
    log = tmp_path_factory.mktemp("log") / "audit_log.jsonl"
    return score(bundle, people, purpose="prioritise_welfare_review", explain="none", audit_log=log)


def planted(risk_list) -> tuple[np.ndarray, list[str]]:
    """Positions (in list order, which is by score) and ids of the planted nasty ids."""
    ids = risk_list.frame["id"].astype(object)
    pos = np.flatnonzero(ids.isin([*NASTY, ESC_ID]).to_numpy())
    return pos, ids.iloc[pos].tolist()


def safe_id(raw: str) -> str:
    return "ab\ufffd[31mcd" if raw == ESC_ID else "'" + raw


def site_list(n: int = 30, *, seed: int = 0, notice: str = NOTICE, **meta) -> RiskList:
    """A list as ``score`` builds it, with display columns (person, establishment, wing)
    that the simulated spec does not have."""
    rng = np.random.default_rng(seed)
    p = np.sort(rng.beta(1, 8, n))[::-1]
    p[-2:] = np.nan  # unscored rows come last
    code = np.where(np.isnan(p), 2, np.where(p >= 0.2, 0, 1))
    band = np.where(np.isnan(p), -1, np.digitize(np.nan_to_num(p), [0.1, 0.3]))
    text = pd.StringDtype("pyarrow")
    reasons = np.where(code == 0, "Current suicidal ideation: yes (raises risk); " * 2, None)
    reasons = np.where(code == 2, "No score: age 95 is outside the training range", reasons)
    frame = pd.DataFrame(
        {
            "id": np.arange(n) + 1000,
            "person_id": pd.array([f"P{i:04d}" for i in rng.integers(0, 9999, n)], dtype=text),
            "establishment": pd.Categorical(rng.choice(["HMP Alpha", "HMP Beta"], n)),
            "wing": pd.array(rng.choice(list("ABC"), n), dtype=text),
            "as_of": pd.Timestamp("2025-03-01"),
            "score": p,
            "band": pd.Categorical.from_codes(
                band.astype("int8"), ["low", "medium", "high"], ordered=True
            ),
            "rank": pd.Series(p).rank(ascending=False, method="min").astype("Int64").array,
            "status": pd.Categorical.from_codes(
                code.astype("int8"), ["flagged", "not_flagged", "insufficient_basis"]
            ),
            "reasons": pd.array(reasons, dtype=text),
        }
    )
    for col in DECISION_COLUMNS:
        frame[col] = pd.array([None] * n, dtype=text)
    metadata = {
        "notice": notice,
        "model_name": "sim",
        "model_version": "v1",
        "outcome": "Incident in 90 days",
        "release_id": "f" * 64,
        "purpose": "prioritise_welfare_review",
        "permitted_purposes": ["prioritise_welfare_review"],
        "prohibited_purposes": ["sentencing"],
        "generated_at": "2026-01-05T09:30:00+00:00",
        "valid_until": "2026-04-05T09:30:00+00:00",
        "approved_by": "R. Reviewer, S. Second",
        "threshold": 0.2,
        "bands": {"cuts": [0.1, 0.3], "labels": ["low", "medium", "high"]},
        "waivers": {"fairness.fnr_gap": "small groups: reviewed by the board"},
        "counts": {
            "rows": n,
            "scored": int((code != 2).sum()),
            "insufficient_basis": int((code == 2).sum()),
            "flagged": int((code == 0).sum()),
        },
        "drift": {"age": {"psi": 0.01, "p_value": None, "status": "stable", "change": "none"}},
        "output_sha256": "c" * 64,
        "audit_entry": 7,
        **meta,
    }
    return RiskList(frame, metadata)


def all_cells(wb) -> list:
    return [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row]


def data_validations(ws) -> dict[str, object]:
    """The data validation of each column letter of a sheet."""
    out = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            out[re.sub(r"\d", "", rng.coord.split(":")[0])] = dv
    return out


# ---------------------------------------------------------------------- safe text
@settings(max_examples=60)
@given(st.text(max_size=20))
def test_escaped_text_never_starts_like_a_formula(text):
    out = escape_formulas(pd.Series([text], dtype=object)).iloc[0]
    assert not out.startswith(FORMULA_START)
    assert out == text or (out == "'" + text and text[:1] in "=+-@\t\r")


def test_numbers_are_not_escaped():
    s = pd.Series([-1.5, 2.0])
    assert escape_formulas(s).equals(s)


def test_escaping_keeps_categories_and_mixed_columns():
    cat = pd.Series(pd.Categorical(["=a", "b", "=a", None]))
    out = escape_formulas(cat)
    assert isinstance(out.dtype, pd.CategoricalDtype)
    assert out.astype(object).tolist()[:3] == ["'=a", "b", "'=a"] and pd.isna(out.iloc[3])
    mixed = pd.Series([1, "-x", None, 2.5], dtype=object)
    assert escape_formulas(mixed).tolist()[:2] == [1, "'-x"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "html"])
def test_every_character_openpyxl_rejects_is_replaced_in_text_people_open(fmt, tmp_path):
    bad = [chr(c) for c in range(0x80) if ILLEGAL_CHARACTERS_RE.search(chr(c))]
    assert len(bad) > 20  # openpyxl's own list, not a copy of ours
    rl = site_list(len(bad))
    rl.frame["person_id"] = pd.array([f"x{c}y" for c in bad], dtype="str")
    path = tmp_path / f"list.{fmt}"
    if fmt == "html":
        values = re.findall(r">(x.y)<", rl.to_html(max_rows=len(bad)))
    else:
        with pytest.warns(UserWarning, match=f"{len(bad)} text cell"):
            getattr(rl, "to_csv" if fmt == "csv" else "to_excel")(path)
        read = pd.read_csv if fmt == "csv" else pd.read_excel
        values = read(path)["person_id"].tolist()
    assert values == ["x\ufffdy"] * len(bad)


# ---------------------------------------------------------------------- CSV
def test_csv_opens_in_pandas_with_no_arguments(risk_list, tmp_path):
    path = tmp_path / "list.csv"
    with pytest.warns(UserWarning, match="1 text cell"):
        risk_list.to_csv(path)
    back = pd.read_csv(path)
    assert list(back.columns) == [*risk_list.frame.columns, "notice"]
    assert len(back) == len(risk_list)
    pos, raw = planted(risk_list)
    assert len(raw) == len(NASTY) + 1
    assert back["id"].iloc[pos].tolist() == [safe_id(v) for v in raw]
    np.testing.assert_allclose(back["score"], risk_list.frame["score"], atol=5e-5)
    assert back["status"].tolist() == risk_list.frame["status"].astype(str).tolist()
    # the header is the first line for any CSV reader (the BOM is for spreadsheets)
    first = path.read_text(encoding="utf-8-sig").splitlines()[0]
    assert first.startswith("id,person_id,as_of,score")


def test_csv_carries_the_notice_on_every_row_and_in_its_sidecar(risk_list, tmp_path):
    path = tmp_path / "list.csv"
    with pytest.warns(UserWarning):
        risk_list.to_csv(path)
    sidecar = tmp_path / "list.about.txt"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["list.about.txt", "list.csv"]
    notes = pd.read_csv(path)["notice"]
    assert notes.nunique() == 1
    assert notes.iloc[0].startswith("DECISION SUPPORT ONLY") and "list.about.txt" in notes.iloc[0]
    about = sidecar.read_text(encoding="utf-8")
    assert " ".join(risk_list.notice.split()) in " ".join(about.split())
    assert "{" not in about
    for waived, reason in risk_list.metadata["waivers"].items():
        assert waived in about and reason.split(":")[0] in about
    c = risk_list.counts
    assert re.search(rf"Rows in this list\s+{c['rows']:,}", about)
    assert "1 text cell(s) held control characters" in about


def test_csv_holds_no_cell_that_begins_like_a_formula(risk_list, tmp_path):
    path = tmp_path / "list.csv"
    with pytest.warns(UserWarning):
        risk_list.to_csv(path)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    cells = [cell for row in rows for cell in row]
    assert len(cells) == (len(risk_list) + 1) * (risk_list.frame.shape[1] + 1)
    numeric = {"score", "rank"}
    header = rows[0]
    for row in rows[1:]:
        for name, cell in zip(header, row, strict=True):
            if name not in numeric:
                assert not cell.startswith(FORMULA_START), (name, cell)
            assert not ILLEGAL_CHARACTERS_RE.search(cell)


def test_missing_text_is_empty_in_every_export_never_the_word_none(risk_list, tmp_path):
    # Under pandas 2.x a numpy "str" column turns a missing value into the text 'None';
    # the decision columns (and reasons, here unexplained) must stay truly empty.
    empty = list(DECISION_COLUMNS)
    assert risk_list.frame[empty].isna().all().all()
    assert risk_list.frame["reasons"].isna().sum() > 0
    csv_path, xlsx_path, pq_path = tmp_path / "l.csv", tmp_path / "l.xlsx", tmp_path / "l.parquet"
    with pytest.warns(UserWarning):
        risk_list.to_csv(csv_path)
        risk_list.to_excel(xlsx_path)
    risk_list.to_parquet(pq_path)
    back = pd.read_csv(csv_path, keep_default_na=False, dtype=str)
    assert (back[empty] == "").all().all(), back[empty].head()
    sheet = load_workbook(xlsx_path)["Risk list"]
    rows = list(sheet.iter_rows(values_only=True))
    cols = [rows[0].index(c) for c in empty]
    assert all(row[c] is None for row in rows[1:] for c in cols)
    parquet = pd.read_parquet(pq_path)
    assert parquet[empty].isna().all().all()
    for frame in (back, parquet):
        assert not frame[[*empty, "reasons"]].isin(["None", "nan", "<NA>"]).any().any()
    assert (back["reasons"] == "").sum() == risk_list.frame["reasons"].isna().sum()


def test_a_development_list_says_so_in_the_csv_and_on_every_printed_page(tmp_path):
    rl = site_list(notice="DEVELOPMENT: NOT FOR OPERATIONAL USE. " + NOTICE)
    rl.to_csv(tmp_path / "dev.csv")
    assert pd.read_csv(tmp_path / "dev.csv")["notice"].str.startswith("DEVELOPMENT").all()
    rl.to_excel(tmp_path / "dev.xlsx")
    for ws in load_workbook(tmp_path / "dev.xlsx").worksheets:
        assert ws.oddHeader.center.text.startswith("DEVELOPMENT: NOT FOR OPERATIONAL USE.")


# ---------------------------------------------------------------------- XLSX
def test_excel_opens_on_the_list_and_keeps_its_order(tmp_path):
    rl = site_list()
    rl.frame = rl.frame.iloc[::-1].reset_index(drop=True)  # not by score: kept as given
    path = tmp_path / "list.xlsx"
    rl.to_excel(path)
    assert load_workbook(path).sheetnames == ["Risk list", "About this list"]
    back = pd.read_excel(path)
    assert list(back.columns) == list(rl.frame.columns)
    assert back["id"].tolist() == rl.frame["id"].tolist()
    np.testing.assert_allclose(back["score"], rl.frame["score"], rtol=1e-15)
    assert back["person_id"].tolist() == rl.frame["person_id"].tolist()
    assert set(back["status"]) == {"flagged", "not flagged", "insufficient basis"}


def test_excel_sheet_is_built_for_daily_use(tmp_path):
    rl = site_list()
    n, cols = len(rl), list(rl.frame.columns)
    path = tmp_path / "list.xlsx"
    rl.to_excel(path)
    ws = load_workbook(path)["Risk list"]
    letter = {c: chr(ord("A") + i) for i, c in enumerate(cols)}
    assert ws.freeze_panes == "B2"
    assert ws.auto_filter.ref == f"A1:{letter[cols[-1]]}{n + 1}"
    assert [c.value for c in ws[1]] == cols and all(c.font.b for c in ws[1])
    scores = [ws[f"{letter['score']}{r}"] for r in range(2, n + 2)]
    assert {c.number_format for c in scores if c.value is not None} == {SCORE_FORMAT}
    # each band its own fill; the highest band's fill is not the lowest's
    fills = {}
    for r in range(2, n + 2):
        cell = ws[f"{letter['band']}{r}"]
        if cell.value is not None:
            fills.setdefault(cell.value, set()).add(cell.fill.fgColor.rgb)
    assert all(len(v) == 1 for v in fills.values()) and len(set.union(*fills.values())) == len(
        fills
    )
    flagged = [r for r in range(2, n + 2) if ws[f"{letter['status']}{r}"].value == "flagged"]
    assert flagged and all(ws[f"{letter['status']}{r}"].font.b for r in flagged)
    assert all(ws[f"{letter['reasons']}{r}"].alignment.wrap_text for r in flagged)
    assert all(ws.row_dimensions[r].height >= 30 for r in flagged)  # wrapped text shows
    widths = {c: ws.column_dimensions[letter[c]].width for c in cols}
    assert all(len(c) < w <= 45 for c, w in widths.items())
    assert widths["reasons"] > widths["wing"]


def test_excel_has_drop_downs_for_the_decision(tmp_path):
    rl = site_list()
    path = tmp_path / "list.xlsx"
    rl.to_excel(path)
    ws = load_workbook(path)["Risk list"]
    cols = list(rl.frame.columns)
    letter = {c: chr(ord("A") + i) for i, c in enumerate(cols)}
    dvs = data_validations(ws)
    decision, agrees = dvs[letter["decision"]], dvs[letter["agrees_with_flag"]]
    assert decision.type == agrees.type == "list"
    assert decision.formula1 == '"' + ",".join(DECISION_OPTIONS) + '"'
    assert agrees.formula1 == '"yes,no"'
    assert str(decision.sqref) == f"{letter['decision']}2:{letter['decision']}{len(rl) + 1}"
    assert decision.showErrorMessage and decision.allow_blank
    # reviewed_by and rationale stay free text
    assert letter["reviewed_by"] not in dvs and letter["rationale"] not in dvs


def test_decision_options_come_from_the_metadata(tmp_path):
    rl = site_list(decision_options=["referred to mental health team", "no action"])
    rl.to_excel(tmp_path / "a.xlsx")
    ws = load_workbook(tmp_path / "a.xlsx")["Risk list"]
    dv = data_validations(ws)[chr(ord("A") + list(rl.frame.columns).index("decision"))]
    assert dv.formula1 == '"referred to mental health team,no action"'
    # an option with a comma cannot be inline: the drop-down reads the About sheet's cells
    rl = site_list(decision_options=["support offered, by wing staff", "other"])
    rl.to_excel(tmp_path / "b.xlsx")
    wb = load_workbook(tmp_path / "b.xlsx")
    dv = data_validations(wb["Risk list"])[chr(ord("A") + list(rl.frame.columns).index("decision"))]
    sheet, cells = dv.formula1.rsplit("!", 1)
    assert sheet == "'About this list'"
    about = wb["About this list"]
    first, last = (c.replace("$", "") for c in cells.split(":"))
    assert [c.value for row in about[first:last] for c in row] == [
        "support offered, by wing staff",
        "other",
    ]
    with pytest.raises(SchemaError, match="decision_options"):
        site_list(decision_options="support").to_excel(tmp_path / "c.xlsx")


def test_a_threshold_band_edge_reads_the_same_as_the_flag(tmp_path):
    rl = site_list(
        threshold=0.0347, bands={"cuts": [0.0347, 0.2], "labels": ["low", "medium", "high"]}
    )
    rl.to_csv(tmp_path / "list.csv")
    about = " ".join((tmp_path / "list.about.txt").read_text(encoding="utf-8").split())
    assert "at least 3.47%" in about and "below 3.47%" in about and "20.0% and above" in about


def test_excel_prints_landscape_fitted_with_header_notice_and_id(tmp_path):
    rl = site_list()
    path = tmp_path / "list.xlsx"
    rl.to_excel(path)
    wb = load_workbook(path)
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape"
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.oddHeader.center.text == rl.short_notice
        assert rl.list_id in ws.oddFooter.left.text and rl.list_id == "c" * 12
        assert "&P" in ws.oddFooter.right.text
    assert wb["Risk list"].print_title_rows == "$1:$1"


def test_excel_about_sheet_is_sentences_and_tables_never_json(risk_list, tmp_path):
    path = tmp_path / "list.xlsx"
    with pytest.warns(UserWarning, match="1 text cell"):
        risk_list.to_excel(path)
    about = load_workbook(path)["About this list"]
    rows = [[c.value for c in row] for row in about.iter_rows()]
    text = [str(v) for row in rows for v in row if v is not None]
    assert not any("{" in t or '": ' in t for t in text), [t for t in text if "{" in t]
    labels = {row[0]: row[1] for row in rows if row and row[0] is not None}
    assert labels["Notice"] == risk_list.notice
    assert labels["Produced for"] == "prioritise welfare review"
    assert labels["Rows in this list"] == f"{len(risk_list):,}"
    m = risk_list.metadata
    for gate, reason in m["waivers"].items():
        assert labels[gate] == reason
    for feature in m["drift"]:
        assert feature in labels  # one row per feature in the drift table
    assert labels["Control characters"].startswith("1 text cell(s)")
    assert labels["Formulas"].startswith(f"{len(NASTY)} text cell(s)")
    assert "decision options" in labels and all(o in text for o in DECISION_OPTIONS)


def test_excel_neutralises_formulas_and_control_characters(risk_list, tmp_path):
    path = tmp_path / "list.xlsx"
    with pytest.warns(UserWarning, match="1 text cell"):
        risk_list.to_excel(path)
    wb = load_workbook(path)
    sheet = wb["Risk list"]
    pos, raw = planted(risk_list)
    ids = [sheet.cell(row=int(r) + 2, column=1).value for r in pos]
    # XML stores a carriage return as a line feed; the cell is escaped either way
    assert ids == [safe_id(v).replace("\r", "\n") for v in raw]
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f"
                assert not (
                    isinstance(cell.value, str) and ILLEGAL_CHARACTERS_RE.search(cell.value)
                )


def test_too_many_rows_for_excel_is_refused_before_writing(monkeypatch, tmp_path):
    monkeypatch.setattr("riskmodels.scoring._risklist.EXCEL_MAX_ROWS", 10)
    with pytest.raises(SchemaError, match="exceed an Excel sheet"):
        site_list(11).to_excel(tmp_path / "a.xlsx")
    assert not (tmp_path / "a.xlsx").exists()
    site_list(11).to_excel(tmp_path / "b.xlsx", split_by="establishment")  # each sheet fits


# ---------------------------------------------------------------------- Parquet, HTML
def test_parquet_keeps_the_exact_values_and_metadata(risk_list, tmp_path):
    import pyarrow.parquet as pq

    path = tmp_path / "list.parquet"
    risk_list.to_parquet(path)
    assert b"riskmodels.risk_list" in pq.read_schema(path).metadata
    back = RiskList.from_parquet(path)
    assert back.metadata == risk_list.metadata
    pd.testing.assert_frame_equal(back.frame, risk_list.frame, check_dtype=False)
    assert ESC_ID in set(back.frame["id"])  # a program's copy: exact
    assert back.notice == risk_list.notice


def test_html_is_short_escaped_and_under_the_notice():
    rl = site_list()
    rl.frame["person_id"] = pd.array(["<script>alert(1)</script>"] * len(rl), dtype="str")
    page = rl.to_html(max_rows=5)
    assert page.index(NOTICE.split(".")[0]) < page.index("<table")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert page.count("<tr>") == 1 + 5
    top, low = rl.frame["score"].iloc[0], rl.frame["score"].dropna().iloc[-1]
    assert top >= 0.1 and low < 0.1  # one decimal above 10%, two below (as in the XLSX)
    assert f"{top:.1%}</td>" in page and f"{low:.2%}</td>" in rl.to_html(max_rows=len(rl))
    assert "reviewed_by" in page.split("</table>")[1]  # named below, not empty columns
    assert rl._repr_html_().count("<tr>") == 1 + 10


def test_exports_are_atomic_and_replace_old_files(risk_list, tmp_path):
    for name, write in [
        ("a.csv", risk_list.to_csv),
        ("a.xlsx", risk_list.to_excel),
        ("a.parquet", risk_list.to_parquet),
    ]:
        (tmp_path / name).write_text("old")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            write(tmp_path / name)
        assert (tmp_path / name).read_bytes() != b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a.about.txt",
        "a.csv",
        "a.parquet",
        "a.xlsx",
    ]


# ---------------------------------------------------------------------- split
def test_split_gives_each_value_its_own_rows_counts_and_the_same_notice():
    rl = site_list(40)
    parts = rl.split("establishment")
    assert list(parts) == ["HMP Alpha", "HMP Beta"]
    for value, part in parts.items():
        expected = rl.frame[rl.frame["establishment"] == value]
        assert part.frame["id"].tolist() == expected["id"].tolist()  # order kept
        assert part.notice == rl.notice
        assert part.counts == {
            "rows": len(expected),
            "scored": int(expected["score"].notna().sum()),
            "insufficient_basis": int((expected["status"] == "insufficient_basis").sum()),
            "flagged": int((expected["status"] == "flagged").sum()),
        }
        assert part.metadata["split"]["whole_list_counts"] == rl.counts
    assert rl.metadata["counts"]["rows"] == 40  # the original is untouched


def test_split_puts_missing_values_last_and_names_an_unknown_column():
    rl = site_list(10)
    rl.frame["wing"] = pd.array(["B", None, "A"] + ["A"] * 7, dtype=pd.StringDtype())
    parts = rl.split("wing")
    assert list(parts) == ["A", "B", None]
    assert parts[None].frame["id"].tolist() == [1001]
    with pytest.raises(SchemaError, match="'prison'") as err:
        rl.split("prison")
    assert err.value.columns == ["prison"]
    for write in (rl.to_excel, rl.to_csv, rl.to_parquet):
        with pytest.raises(SchemaError, match="'prison'"):
            write("unused", split_by="prison")


def test_excel_split_writes_one_sheet_per_value_with_safe_names(tmp_path):
    rl = site_list(12)
    names = ["HMP A/B: [north]", "HMP A?B: [north]", "x & y " * 40, "About this list"]
    rl.frame["establishment"] = pd.Categorical([names[i % 4] for i in range(12)])
    path = tmp_path / "split.xlsx"
    rl.to_excel(path, split_by="establishment")
    wb = load_workbook(path)
    sheets = wb.sheetnames
    assert sheets[-1] == "About this list" and len(sheets) == 5
    assert all(len(s) <= 31 and not re.search(r"[\[\]:*?/\\]", s) for s in sheets)
    assert len({s.casefold() for s in sheets}) == 5
    parts = rl.split("establishment")
    for sheet, part in zip(sheets[:-1], parts.values(), strict=True):
        back = pd.read_excel(path, sheet_name=sheet)
        assert back["id"].tolist() == part.frame["id"].tolist()
        assert wb[sheet].freeze_panes == "B2" and wb[sheet].data_validations.dataValidation
        where = f"establishment = {part.metadata['split']['value']}"[:40]
        assert where.replace("&", "&&") in wb[sheet].oddFooter.left.text  # & starts a code
    for ws in wb.worksheets:  # Excel refuses a header or footer over 255 characters
        for part in (ws.oddHeader, ws.oddFooter):
            assert len(part.left.text or "") + len(part.center.text or "") < 255
    about = [c.value for row in wb["About this list"].iter_rows() for c in row]
    assert "sheet (establishment)" in about and all(s in about for s in sheets[:-1])
    for sheet, part in zip(sheets[:-1], parts.values(), strict=True):
        assert about[about.index(sheet) + 1].startswith(f"{len(part)} rows: ")


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_csv_and_parquet_split_write_one_file_per_value(kind, tmp_path):
    rl = site_list(12)
    rl.frame["establishment"] = pd.Categorical(
        ["HMP Alpha", "../etc/passwd", "CON", "HMP Alpha"] * 3
    )
    folder = tmp_path / "lists"
    getattr(rl, f"to_{kind}")(folder, split_by="establishment")
    files = sorted(p.name for p in folder.iterdir() if p.suffix == f".{kind}")
    assert files == sorted(f"{s}.{kind}" for s in ("HMP_Alpha", "etc_passwd", "_CON"))
    assert {p.parent for p in tmp_path.rglob("*") if p.is_file()} == {folder}
    for value, part in rl.split("establishment").items():
        stem = {"HMP Alpha": "HMP_Alpha", "../etc/passwd": "etc_passwd", "CON": "_CON"}[value]
        if kind == "csv":
            back = pd.read_csv(folder / f"{stem}.csv")
            about = (folder / f"{stem}.about.txt").read_text(encoding="utf-8")
            assert re.search(rf"Rows in this list\s+{len(part)}\b", about)
            assert "Only the rows whose establishment is" in about
        else:
            got = RiskList.from_parquet(folder / f"{stem}.parquet")
            back = got.frame
            assert got.counts == part.counts and got.notice == rl.notice
        assert back["id"].tolist() == part.frame["id"].tolist()


def test_split_into_a_file_is_refused(tmp_path):
    (tmp_path / "list.csv").write_text("not a folder")
    with pytest.raises(SchemaError, match="is a file"):
        site_list().to_csv(tmp_path / "list.csv", split_by="establishment")


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_new_split_removes_only_the_files_an_earlier_split_wrote(kind, tmp_path):
    """A prison with no one on today's list must not find yesterday's file in the folder;
    files the site put there are never touched."""
    folder = tmp_path / "lists"
    monday = site_list(12)
    monday.frame["establishment"] = pd.Categorical(["HMP Alpha", "HMP Beta", "HMP Gamma"] * 4)
    getattr(monday, f"to_{kind}")(folder, split_by="establishment")
    (folder / "site notes.txt").write_text("ours")
    (folder / f"archive.{kind}").write_text("ours too")
    tuesday = site_list(12, seed=1)
    tuesday.frame["establishment"] = pd.Categorical(["HMP Alpha", "HMP Beta"] * 6)
    getattr(tuesday, f"to_{kind}")(folder, split_by="establishment")
    names = {p.name for p in folder.iterdir()}
    assert f"HMP_Gamma.{kind}" not in names and "HMP_Gamma.about.txt" not in names
    assert {f"HMP_Alpha.{kind}", f"HMP_Beta.{kind}", "site notes.txt", f"archive.{kind}"} <= names
    manifest = json.loads((folder / "risk_list_files.json").read_text())
    assert manifest["split_by"] == "establishment"
    assert f"HMP_Alpha.{kind}" in manifest["files"] and f"archive.{kind}" not in manifest["files"]


def test_a_list_scored_with_split_by_splits_every_export_by_default(tmp_path):
    rl = site_list(12, split_by="establishment")
    assert rl.split_by == "establishment"
    rl.to_parquet(tmp_path / "lists")
    assert sorted(p.name for p in (tmp_path / "lists").glob("*.parquet")) == [
        "HMP_Alpha.parquet",
        "HMP_Beta.parquet",
    ]
    part = RiskList.from_parquet(tmp_path / "lists" / "HMP_Alpha.parquet")
    assert part.split_by is None  # each part is one place's whole list
    rl.to_excel(tmp_path / "l.xlsx")
    assert pd.ExcelFile(tmp_path / "l.xlsx").sheet_names[:2] == ["HMP Alpha", "HMP Beta"]


def test_every_export_carries_each_persons_range(risk_list, tmp_path):
    # score_low <= score <= score_high on the list itself, then in each export as a reader
    # (Excel, CSV, HTML) or a program (Parquet) receives it; the CSV rounds every
    # probability to CSV_SCORE_DECIMALS places
    import openpyxl

    f = risk_list.frame
    scored = f["score"].notna()
    assert scored.any() and not f.loc[scored, ["score_low", "score_high"]].isna().any().any()
    assert (f.loc[scored, "score_low"] <= f.loc[scored, "score"]).all()
    assert (f.loc[scored, "score"] <= f.loc[scored, "score_high"]).all()
    top = f.index[scored][0]

    risk_list.to_excel(tmp_path / "list.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "list.xlsx")["Risk list"]
    header = [c.value for c in ws[1]]
    for col in ("score", "score_low", "score_high"):
        cell = ws.cell(row=2 + top, column=header.index(col) + 1)
        assert cell.value == pytest.approx(f.loc[top, col]) and "%" in cell.number_format

    risk_list.to_csv(tmp_path / "list.csv")
    csv = pd.read_csv(tmp_path / "list.csv")
    assert csv.loc[top, "score_low"] == pytest.approx(f.loc[top, "score_low"], abs=1e-4)
    assert csv.loc[top, "score_high"] == pytest.approx(f.loc[top, "score_high"], abs=1e-4)

    risk_list.to_parquet(tmp_path / "list.parquet")
    back = RiskList.from_parquet(tmp_path / "list.parquet").frame
    np.testing.assert_array_equal(back["score_low"], f["score_low"])

    page = risk_list.to_html()
    assert "score_low" in page and "score_high" in page
