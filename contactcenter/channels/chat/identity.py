"""Who a chat visitor is, as the host site vouches for its logged-in user (pure).

The host site and the service share a secret (`CONTACTCENTER_CHAT_IDENTITY_SECRET`). The host
site's server signs its logged-in user, and the page hands the token to the widget
(`data-identity-token`):

    payload = base64url(JSON {"sub": "<the user's id on the host site>", "email": "...",
                              "name": "...", "exp": <unix seconds>})
    token   = payload + "." + base64url(HMAC-SHA256(secret, payload))

(base64url without padding). A valid token verifies the visitor as that customer: `sub` is the
customer's `external_crm` identity and `email` their email address. Anything a visitor merely
types (a name, an email in the pre-chat form) is a claim, trusted for nothing but display and
the lookup of an unverified contact. Tokens live at most `MAX_LIFETIME` seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

MAX_LIFETIME = 24 * 3600


class IdentityError(ValueError):
    """A token that proves nothing; the message says why (never which part of the secret)."""


@dataclass(frozen=True, slots=True)
class VerifiedVisitor:
    subject: str  # the user's id on the host site
    email: str | None
    name: str | None
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(
    secret: str, subject: str, expires: int, email: str | None = None, name: str | None = None
) -> str:
    """A token as the host site makes one (its server side, with the shared secret)."""
    claims = (
        {"sub": subject, "exp": expires}
        | ({"email": email} if email else {})
        | ({"name": name} if name else {})
    )
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    mac = hmac.new(secret.encode(), payload.encode("ascii"), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def verify(token: str, secret: str, now: float) -> VerifiedVisitor:
    """The visitor the token vouches for, or IdentityError: a bad signature, a token out of
    date or living too long, or one that is not a token at all."""
    if not secret:
        raise IdentityError("identity tokens are not accepted: no shared secret is set")
    payload, dot, signature = token.partition(".")
    if not dot or not payload or not signature:
        raise IdentityError("not an identity token")
    expected = hmac.new(secret.encode(), payload.encode("ascii", "replace"), hashlib.sha256)
    try:
        given = _unb64(signature)
    except ValueError:
        raise IdentityError("not an identity token") from None
    if not hmac.compare_digest(expected.digest(), given):
        raise IdentityError("the identity token's signature does not match")
    try:
        claims = json.loads(_unb64(payload))
    except ValueError:
        raise IdentityError("the identity token's payload is not JSON") from None
    subject, expires = claims.get("sub"), claims.get("exp")
    if not isinstance(subject, str) or not subject or not isinstance(expires, int):
        raise IdentityError("the identity token needs sub (text) and exp (unix seconds)")
    if expires <= now:
        raise IdentityError("the identity token has expired")
    if expires > now + MAX_LIFETIME:
        raise IdentityError(f"the identity token lives longer than {MAX_LIFETIME} seconds")
    email, name = claims.get("email"), claims.get("name")
    return VerifiedVisitor(
        subject,
        email if isinstance(email, str) else None,
        name if isinstance(name, str) else None,
        expires,
    )
