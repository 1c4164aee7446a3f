"""Encryption at rest for secrets Quorum must be able to read back (judge API keys).

Fernet (AES-128-CBC + HMAC) with the key from ``QUORUM_ENCRYPTION_KEY``. A secret is
decrypted only right before it is sent to the endpoint it belongs to; it is never
rendered, logged or exported.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class SecretUnreadable(ValueError):
    """The stored secret cannot be decrypted (the encryption key changed)."""


def _fernet() -> Fernet:
    return Fernet(settings.QUORUM_ENCRYPTION_KEY.encode())


def encrypt(plain: str) -> str:
    if not plain:
        return ""
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "The stored API key cannot be decrypted: QUORUM_ENCRYPTION_KEY changed. "
            "Enter the key again."
        ) from None
