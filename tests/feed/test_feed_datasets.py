import numpy as np
import pytest

from mlsiege.datasets import load_follows, load_interactions, load_movielens
from mlsiege.errors import DataValidationError


def test_movielens_tab_and_double_colon_and_duplicates(tmp_path):
    tab = tmp_path / "u.data"
    tab.write_text("1\t10\t4\t100\n1\t11\t3\t101\n2\t10\t5\t102\n1\t10\t2\t200\n")
    d = load_movielens(tab)
    assert d.matrix.shape == (2, 2) and d.nnz == 3 and d.duplicates == 1
    # the duplicate keeps its latest rating and time
    assert d.matrix[0, 0] == 2 and d.timestamps[0, 0] == 200
    colon = tmp_path / "ratings.dat"
    colon.write_text("1::10::4::100\n2::11::3::101\n")
    assert load_interactions(colon, "movielens").nnz == 2


def test_csv_with_optional_columns_and_follows(tmp_path):
    csv = tmp_path / "log.csv"
    csv.write_text("user,item\nalice,a\nbob,a\nbob,b\nalice,a\n")
    d = load_interactions(csv, "csv")
    assert d.nnz == 3 and d.duplicates == 1 and d.matrix.data.tolist() == [1.0, 1.0, 1.0]
    edges = tmp_path / "trust.txt"
    edges.write_text("alice bob\nbob carol\n")
    f = load_follows(edges, d)
    assert f.shape == (2, 2) and f.nnz == 1 and f[0, 1] == 1


def test_bad_files_name_the_problem(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("who,what\n1,2\n")
    with pytest.raises(DataValidationError, match="missing column"):
        load_interactions(bad, "csv")
    with pytest.raises(DataValidationError, match="unknown format"):
        load_interactions(bad, "xml")
    short = tmp_path / "short.data"
    short.write_text("1\t2\t3\n")
    with pytest.raises(DataValidationError):
        load_movielens(short)
    assert np.isfinite(1.0)
