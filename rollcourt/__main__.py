"""``python -m rollcourt``: the same CLI as the ``rollcourt`` script."""

from rollcourt.cli import main

main()
