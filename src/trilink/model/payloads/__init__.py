"""Payload schemas and kind registrations, one module per engine. Each module's ``KINDS`` tuple
of ``KindSpec`` is registered by ``trilink.model.kinds``, so every node can validate, draw and
export any kind it receives without importing the engines themselves."""
