"""``python -m millwright``: the same CLI as the ``millwright`` script."""

from millwright.cli import main

main()
