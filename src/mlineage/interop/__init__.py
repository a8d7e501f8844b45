"""Wire formats of other tools, one module each, mapped to the core model at the edge."""
