"""ORM models, gathered in one metadata so Alembic sees every table."""

from commerce_core.models.base import Base
from commerce_core.models.catalog import CustomizationRuleSet, Product, Variant

__all__ = ["Base", "CustomizationRuleSet", "Product", "Variant"]
