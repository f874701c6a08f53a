"""Identity normalisation: the same contact written many ways is one identity."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactcenter.customers.identities import InvalidIdentity, candidates, normalize
from contactcenter.model import IdentityKind


@pytest.mark.parametrize(
    "raw", ["+1 (800) 555-0100", "1-800-555-0100", "18005550100", "800.555.0100", " +18005550100 "]
)
def test_one_number_many_spellings(raw: str) -> None:
    assert normalize("phone", raw).value == "+18005550100"


def test_fax_is_normalised_like_phone_but_is_its_own_kind() -> None:
    ident = normalize("fax", "(212) 555-0199")
    assert ident.kind is IdentityKind.FAX and ident.value == "+12125550199"


def test_default_region_decides_national_numbers() -> None:
    assert normalize("phone", "020 7946 0958", "GB").value == "+442079460958"
    assert normalize("phone", "+44 20 7946 0958", "US").value == "+442079460958"


@pytest.mark.parametrize("raw", ["", "12", "not a number", "+1 555", "9" * 50])
def test_bad_numbers_say_what_is_wrong(raw: str) -> None:
    with pytest.raises(InvalidIdentity, match="phone"):
        normalize("phone", raw)


def test_email_is_lowercased_and_validated() -> None:
    assert normalize("email", " Ana.Lopez@Example.COM ").value == "ana.lopez@example.com"
    for bad in ["ana", "ana@", "a b@example.com", "ana@example", "<ana@example.com>"]:
        with pytest.raises(InvalidIdentity, match="not a valid email"):
            normalize("email", bad)


def test_opaque_ids_are_kept_as_given_and_unknown_kinds_refused() -> None:
    assert normalize("external_crm", "SF-0012Ab").value == "SF-0012Ab"
    with pytest.raises(InvalidIdentity, match="printable"):
        normalize("chat_visitor", "has space")
    with pytest.raises(InvalidIdentity, match="unknown identity kind"):
        normalize("pager", "123")


def test_search_candidates_cover_every_kind_a_term_can_be() -> None:
    kinds = {i.kind for i in candidates("1-800-555-0100")}
    assert {IdentityKind.PHONE, IdentityKind.FAX} <= kinds
    assert IdentityKind.EMAIL not in kinds


@given(st.integers(min_value=2_012_000_000, max_value=9_899_999_999))
def test_normalising_is_idempotent(n: int) -> None:
    try:
        first = normalize("phone", str(n))
    except InvalidIdentity:
        return
    assert normalize("phone", first.value) == first


def test_e164_written_directly_matches_phonenumbers_own_formatting() -> None:
    import phonenumbers

    checked = 0
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            expected = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            international = phonenumbers.format_number(
                example, phonenumbers.PhoneNumberFormat.INTERNATIONAL
            )
            assert normalize("phone", international, region).value == expected, region
            checked += 1
    assert checked > 300


def test_extensions_and_letters_are_left_to_phonenumbers() -> None:
    assert normalize("phone", "1-800-FLOWERS").value == "+18003569377"
