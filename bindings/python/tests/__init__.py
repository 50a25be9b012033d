"""Tests of the eryxon Python binding (unittest discovery needs a package)."""
