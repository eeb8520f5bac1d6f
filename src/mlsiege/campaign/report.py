"""The campaign page lives in :mod:`mlsiege.report.campaign` (rendering belongs to ``report/``)."""

from mlsiege.report.campaign import HEADLINE, campaign_page, campaign_payload, headline

__all__ = ["HEADLINE", "campaign_page", "campaign_payload", "headline"]
