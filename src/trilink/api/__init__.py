"""The node API (HTTPS, API tokens): how this nation's people and programs use its node."""

from trilink.api.app import create_api_app

__all__ = ["create_api_app"]
