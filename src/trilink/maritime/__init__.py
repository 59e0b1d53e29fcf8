"""Maritime awareness engine (ARCHITECTURE §7): AIS ingest → cleaning → events → reports.

Flow: ``ingest`` (NMEA/CSV/Parquet files, pure parsers in ``nmea``/``decode``/``csvlayout``)
produces columnar position and static tables (``tables``); ``clean`` drops impossible records
and counts them; ``events`` finds encounters, loitering, AIS gaps, port visits, zone incursions,
foreign fishing, dark vessels and identity changes; ``io`` writes what analysts open.
"""
