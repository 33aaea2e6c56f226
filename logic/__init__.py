"""Business logic of each host command, one module a command, written against hsmd_sdk."""
