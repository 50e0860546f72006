"""Servers and helpers the tests run against."""
