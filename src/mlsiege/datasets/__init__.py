"""Loaders for a user's own engagement logs: MovieLens-format ratings, CSV/Parquet, follow edges."""

from mlsiege.datasets.interactions import (
    Interactions,
    from_arrays,
    load_follows,
    load_interactions,
    load_movielens,
    load_table,
)

__all__ = ["Interactions", "from_arrays", "load_follows", "load_interactions", "load_movielens", "load_table"]
