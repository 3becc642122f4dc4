"""Integrations with other systems (nbgrader, Gradescope, Dask): thin adapters over one `grade()`
and its result model, none of which decides a score itself."""
