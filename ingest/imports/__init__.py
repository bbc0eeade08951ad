"""Imports of plant history from files: a historian's readings (CSV or Parquet, long or wide).

Everything goes through the same validation and bulk writer as the collectors
(:class:`millwright.core.storage.readings.ReadingsWriter`), so a re-import adds nothing and
bad rows are written to a rejects file while the good ones are imported.
"""
