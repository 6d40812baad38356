"""``python -m ttpmap.cli``."""

from ttpmap.cli import main

main()
