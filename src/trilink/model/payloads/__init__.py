"""Payload schemas per report kind. Engines define theirs in a module here so that every node
can validate any kind it receives without importing the engines themselves."""
