"""hsmd benchmark suite; run with `python -m bench`."""
