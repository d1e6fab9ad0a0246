"""One module per family, built from jresgen.nn."""
