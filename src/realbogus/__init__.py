"""realbogus."""
