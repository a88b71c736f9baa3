"""``python -m gutjoint``: the command line, as the ``gutjoint`` script."""

from gutjoint._interfaces.cli import main

main()
