"""Writes of field verification: ``tasks`` (where tasks come from and go) and ``visits``
(what the field reports and the station reviews)."""
