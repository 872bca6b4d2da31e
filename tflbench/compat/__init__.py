"""Will a model load on the runtimes a project targets? Ops, op versions and runtime tables."""
