"""The back office: the lists and actions of the shop owner's pages."""
