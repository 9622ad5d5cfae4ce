"""The report side: statistics over seeds, comparison tables, claims, and the LaTeX report."""
