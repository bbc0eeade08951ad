"""``python -m millwright``: the same CLI as the ``millwright`` script."""

from millwright.app.cli import main

main()
