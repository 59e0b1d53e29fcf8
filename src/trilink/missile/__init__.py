"""`trilink.missile`: ballistic-missile warning engine.

Flow: truth trajectories (``trajectory``) → sensor plots (``sensors``) → trackers
(``track``) → cross-nation fusion (``fuse``) → estimates (``estimates``) → warnings.
``reconstruct`` rebuilds reported real launches from their apogee and range.
"""
