"""Reference user recommenders and the adapter for any object with ``recommend(users, k)``.

Every model here has ``fit(interactions, follows=None)`` (a ``users x items`` sparse matrix and an
optional ``users x users`` follow matrix) and ``recommend(users, k)`` returning the top-``k``
unseen item ids per user, so each follows :class:`mlsiege.targets.Recommender`.
"""

from mlsiege.targets.recommenders.adapter import RecommenderTarget, from_recommender
from mlsiege.targets.recommenders.biased_mf import BiasedMF, BiasedMFConfig
from mlsiege.targets.recommenders.factors import FactorConfig, ImplicitRecommender, als, bpr
from mlsiege.targets.recommenders.itemknn import ItemKNNConfig, ItemKNNRecommender, item_similarity
from mlsiege.targets.recommenders.popularity import PopularityRecommender
from mlsiege.targets.recommenders.serving import row_top_k, top_k
from mlsiege.targets.recommenders.social import SocialConfig, SocialRecommender

__all__ = [
    "BiasedMF",
    "BiasedMFConfig",
    "FactorConfig",
    "ImplicitRecommender",
    "ItemKNNConfig",
    "ItemKNNRecommender",
    "PopularityRecommender",
    "RecommenderTarget",
    "SocialConfig",
    "SocialRecommender",
    "als",
    "bpr",
    "from_recommender",
    "item_similarity",
    "make_recommender",
    "row_top_k",
    "top_k",
]

#: names the CLI and scenarios accept
RECOMMENDER_NAMES = ("popularity", "item-knn", "als", "bpr", "social", "biased-mf")


def make_recommender(name: str, *, seed: int = 0):  # noqa: ANN201 - one of the classes above
    """A fresh reference recommender by its public name (``popularity``, ``item-knn``, ...)."""
    from mlsiege.errors import ConfigError

    if name == "popularity":
        return PopularityRecommender()
    if name == "item-knn":
        return ItemKNNRecommender()
    if name in ("als", "bpr"):
        return ImplicitRecommender(name, seed=seed)
    if name == "social":
        return SocialRecommender()
    if name == "biased-mf":
        return BiasedMF(BiasedMFConfig(seed=seed))
    raise ConfigError(f"unknown recommender {name!r}; choose one of {', '.join(RECOMMENDER_NAMES)}")
