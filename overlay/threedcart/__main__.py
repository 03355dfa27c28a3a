"""`python -m threedcart`: the command line (needs the `cli` extra)."""

from ._cli import main

main()
