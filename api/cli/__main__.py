"""``python -m api.cli``: the same as the ``cehours`` console script."""

from api.cli import main

main()
