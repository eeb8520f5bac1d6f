"""A corrupt or schema-violating input file is one clear error naming the rows; nothing is lost."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlsiege.checks.harnesses import tiny_schema
from mlsiege.defenses.data.schema_validation import pandera_schema, validate_file, validate_frame
from mlsiege.errors import DataValidationError
from mlsiege.lifecycle.lineage import Lineage


def _frame():
    return pd.DataFrame({"x0": [0.1, 0.5, 0.9, 0.2], "x1": [0.2, 0.3, 0.5, 0.1], "n": [1.0, 2.0, 3.0, 4.0], "site": ["a", "b", "c", "a"]})


def test_pandera_schema_is_generated_from_the_mlsiege_schema():
    ps = pandera_schema(tiny_schema())
    assert set(ps.columns) == {"x0", "x1", "n", "site"}
    assert any("budget" in c.name for c in ps.checks)
    assert validate_frame(_frame(), tiny_schema()) is not None


def test_schema_violations_name_the_rows():
    f = _frame()
    f.loc[1, "x0"] = 2.0  # bound
    f.loc[2, "site"] = "zz"  # unknown level
    f.loc[3, "n"] = 2.5  # integer
    with pytest.raises(DataValidationError) as err:
        validate_frame(f, tiny_schema(), name="upload.csv")
    assert err.value.rows == [1, 2, 3]
    assert "upload.csv: 3 of 4 rows" in str(err.value) and "[rows 1, 2, 3]" in str(err.value)


def test_corrupt_files_are_one_line_errors(tmp_path):
    garbled = tmp_path / "bad.csv"
    garbled.write_bytes(b'x0,x1,n,site\n0.1,0.2,1,a\n"0.3,0.4\n\xff\xfe\x00')
    with pytest.raises(DataValidationError, match="cannot parse|rows"):
        validate_file(garbled, tiny_schema())
    text = tmp_path / "text.csv"
    text.write_text("x0,x1,n,site\n0.1,0.2,1,a\nabc,0.2,1,b\n")
    with pytest.raises(DataValidationError, match=r"x0: not a finite number \('abc'\).*\[rows 1\]"):
        validate_file(text, tiny_schema())
    with pytest.raises(DataValidationError, match="not found"):
        validate_file(tmp_path / "missing.csv", tiny_schema())


def test_a_refused_batch_loses_nothing_already_ingested():
    schema = tiny_schema()
    lin = Lineage()
    good = schema.encode(_frame())
    lin.ingest(good, np.zeros(4, int), source="feed", batch="b1", schema=schema)
    bad = good.copy()
    bad[2, 0] = 7.0
    with pytest.raises(DataValidationError, match=r"batch 'b2' from 'feed' refused.*\[rows 2\]"):
        lin.ingest(bad, np.zeros(4, int), source="feed", batch="b2", schema=schema)
    X, _, records = lin.data("raw/feed")
    assert len(X) == 4 and set(records["batch"]) == {"b1"}
