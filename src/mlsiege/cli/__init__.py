"""The ``mlsiege`` command line (typer + rich): a thin layer over the library."""
