"""Reporting: the summary tables, the figures and their names, the tables as report pages."""
