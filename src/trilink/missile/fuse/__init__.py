"""Track fusion across nations: covariance intersection of shared tracks, central fusion."""
