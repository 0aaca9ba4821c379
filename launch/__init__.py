"""Entry points: the ``skillstack`` command line."""
