"""How large a detected change is, how sure, and whether it is worth a page."""
