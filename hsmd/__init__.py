"""hsmd: a Thales payShield-compatible HSM server."""
