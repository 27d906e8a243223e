"""Studies: a TOML spec, its grid of runs, the runner and the SQLite results store.

Import the submodules directly (``poisonlab.experiment.store``, ``.spec``, ``.runner``); this
package imports nothing heavy on its own.
"""
