"""`trilink.interop`: what leaves trilink for the tools users already have.

* ``items``      reports as items: current version, typed payload, features (the registry's)
* ``marking``    the overall marking of a set of labelled portions (live and exercise apart)
* ``geojson``    RFC 7946 FeatureCollection
* ``kml``        OGC KML 2.2 with TimeStamp/TimeSpan, folders per kind and origin, styles
* ``cot``        Cursor-on-Target 2.0 events and TAK data packages (one event per file)
* ``geoparquet`` GeoParquet 1.1 (WKB geometry, ``geo`` metadata)
* ``tables``     CSV, one row per report
* ``formats``    the formats by name, and writing a file whole or not at all
* ``tak_config`` the ``[tak]`` table of node.toml; ``tak_stream`` live CoT to a TAK server;
  ``tak_feed`` what the node stores, in order from a cursor on disk, into the stream

Pure writers over items (no store, no network) except ``tak_stream``, which opens the one
socket a node keeps to its TAK server, and ``tak_feed``, which keeps its cursor in a file
(the store it reads is handed to it as a function by the daemon).
"""
