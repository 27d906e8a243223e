"""python -m poisonlab."""

from .cli import main

main()
