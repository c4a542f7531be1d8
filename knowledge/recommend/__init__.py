"""Recommendations learnt from the shop's own paid orders and its catalog.

- ``basket``: the behavioural model — co-occurrence counts of products in paid orders,
  from which popularity, item-item cosine and EASE (Steck 2019) are read; it learns one
  order at a time.
- ``content``: product content (MiniLM vectors, category, attributes, price band), so a
  product imported a minute ago is recommendable before anyone bought it.
- ``hybrid``: the blend the shop serves, with a one-line reason per product.
- ``ratings``: user-user Pearson over co-rated products, for when reviews exist.
- ``service`` / ``routes``: the running recommender and ``GET /api/recommendations``;
  ``shoppers`` keeps what returning shoppers bought, so a request needs no query;
  ``snapshot`` is what a restart starts from.
- ``evaluate``: ``make eval-recs`` (hit-rate@10 and MRR@10 per method).
"""
