from actions.clients.commerce import (
           CommerceClient,
           CommerceError,
           CommerceUnavailable,
           ProductNotFound,
)
from actions.clients.models import (
           Address,
           Cart,
           CartLine,
           Interpretation,
           Order,
           Payment,
           Product,
           Quote,
           SearchHit,
           SearchPage,
           SearchQuery,
)

__all__ = ["Address", "Cart", "CartLine", "CommerceClient", "CommerceError",
           "CommerceUnavailable", "Interpretation", "Order", "Payment", "Product",
           "ProductNotFound", "Quote", "SearchHit", "SearchPage", "SearchQuery"]
