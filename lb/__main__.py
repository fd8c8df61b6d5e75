"""`python -m lb` runs the lbctl command line (cli)."""

from lb.cli import main

main(prog_name="lbctl")
