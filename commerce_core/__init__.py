"""Atelier commerce core: catalog, customisation rules, carts, orders, payments, shipments."""
