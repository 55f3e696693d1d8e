"""Instruments that drive and measure a real Scriptbox from outside, shared by
the test suite (tests/) and the benchmarks (bench/), neither of which
imports the other: the SQL statement counter and fresh PostgreSQL databases.
Not part of the product (never installed)."""
