"""Checking: Broadsheet's own rules (one registry, `rules`), and the boundary to frictionless (`frictionless`)."""
