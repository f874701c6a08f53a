"""The fax gateway list (pure): which mail a gateway sent, the number in it, where faxes go, and
errors that name the file, line and field."""

from __future__ import annotations

import pytest

from contactcenter.channels.fax.gateways import GatewayError, load_gateways, parse_gateways
from contactcenter.mail.parse import parse_mail

from ..mail_desk import mail

BY_HEADER = r"""
gateways:
  - name: office
    headers: {X-Fax-Service: '^hylafax', X-Fax-Pages: '\d'}
    number: 'CSID:\s*(?P<number>\+?[0-9 ]{7,})'
    send_to: '{e164}@fax.office.example'
"""


def parsed(**headers: str):  # type: ignore[no-untyped-def]
    message = mail(
        "CSID: +49 30 901820\nPages: 2",
        subject="Fax received",
        sender="fax@office.example",
        **headers,
    )
    return parse_mail(message.as_bytes())


def test_a_gateway_known_by_its_headers_needs_all_of_them() -> None:
    gateways = parse_gateways(BY_HEADER)
    office = gateways.named("office")
    assert office is not None
    both = parsed(X_Fax_Service="HylaFAX 7.0", X_Fax_Pages="2")
    assert gateways.of(both) is office
    assert office.number_in(both) == "+49 30 901820"  # not in the subject: from the body
    assert gateways.of(parsed(X_Fax_Service="HylaFAX 7.0")) is None
    assert office.address_for("+4930901820") == "+4930901820@fax.office.example"


def test_the_shipped_gateways_know_their_senders_by_domain_and_subdomain() -> None:
    gateways = load_gateways()
    efax = parse_mail(mail(sender="message@inbound.efax.com").as_bytes())
    assert gateways.of(efax) is gateways.named("efax")
    assert gateways.of(parse_mail(mail(sender="ann@notefax.com").as_bytes())) is None
    assert gateways.named("efax").address_for("+12125550147") == "12125550147@efaxsend.com"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "gateways:\n  - {name: a, number: '(?P<number>1)', send_to: '{digits}@x'}",
            "<fax gateways>:2: gateways[0]: from_domains or headers is required",
        ),
        (
            "gateways:\n  - {name: a, from_domains: x, number: '([0-9]+)', send_to: '{digits}@x'}",
            "gateways[0].number: needs a group (?P<number>...)",
        ),
        (
            "gateways:\n  - {name: a, from_domains: x, number: '(?P<number>[', send_to: 'a@x'}",
            "gateways[0].number: not a regular expression",
        ),
        (
            "gateways:\n  - {name: a, from_domains: x, number: '(?P<number>1)', send_to: 'fax@x'}",
            "gateways[0].send_to: must be an address with {digits} or {e164} in it",
        ),
        (
            "gateways:\n  - {name: a, from_domains: x, number: '(?P<number>1)', send_to: '{n}@x'}",
            "gateways[0].send_to: may use only {digits} and {e164}",
        ),
        (
            "gateways:\n  - {name: a, from_domains: x, numbr: '1', send_to: '{digits}@x'}",
            "gateways[0].numbr: unknown field",
        ),
    ],
)
def test_errors_name_the_line_and_field(text: str, error: str) -> None:
    with pytest.raises(GatewayError) as caught:
        parse_gateways(text)
    assert error in str(caught.value)
