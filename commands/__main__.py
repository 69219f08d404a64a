"""``python -m mdc_commands`` is ``mdc``."""

from .main import main

main()
