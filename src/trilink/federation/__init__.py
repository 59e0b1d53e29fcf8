"""Federation (ARCHITECTURE §6): moving reports between nodes over HTTPS with mutual TLS."""
