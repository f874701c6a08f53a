"""CSV import and export: good rows in, bad rows reported by line, nothing half-written."""

import csv
import io

import pytest

from contactcenter.customers.csv_file import BATCH, CsvFormatError, CustomerCsv
from contactcenter.customers.records import CustomerRecords
from contactcenter.people.agents import AgentDirectory, AgentFields

GOOD_AND_BAD = """\
name,tier,segment,tags,account_manager,verified,phone,email,external_crm
Ana López,key_account,home,vip;renewal,mei@example.com,true,+1 212 555 0142,ana@acme.example,SF-1
Bo Chen,gold,,,,,,bo@example.com,
Cy Diaz,transactional,home,,,,12,cy@example.com,
Di Evans,relationship,,,,maybe,,di@example.com,
Ed Fox,relationship,small_business,,,,(212) 555-0142,,
Flo Gray,transactional,,,nobody@example.com,,,flo@example.com,
Gus Hale,transactional,public_sector,,,,+44 20 7946 0958;+44 20 7946 0959,gus@example.com,SF-9
"""


@pytest.fixture
async def importer(db, records: CustomerRecords) -> CustomerCsv:
    await AgentDirectory(db).create_agent(AgentFields(name="Mei", email="mei@example.com"))
    return CustomerCsv(records=records)


@pytest.mark.parametrize("batch", [BATCH, 2], ids=["in-process", "worker-processes"])
async def test_import_reports_bad_rows_by_line_and_imports_the_good(
    importer: CustomerCsv, records: CustomerRecords, batch: int
) -> None:
    importer = CustomerCsv(records=records, batch=batch)
    report = await importer.import_rows(io.StringIO(GOOD_AND_BAD))
    assert report.created == 2 and report.updated == 0
    lines = {line: message for line, message in report.errors}
    assert sorted(lines) == [3, 4, 5, 6, 7]
    assert "tier" in lines[3]
    assert "phone number '12'" in lines[4]
    assert "verified" in lines[5]
    assert "also on line 2" in lines[6]
    assert "no agent's email" in lines[7]
    ana = (await records.resolve("email", "ANA@acme.example")).customer
    assert ana.tier.value == "key_account" and ana.tags == ["vip", "renewal"]
    assert ana.account_manager_id is not None and ana.verified
    gus = (await records.resolve("phone", "+442079460959")).customer
    assert {i.value for i in gus.identities} == {
        "+442079460958",
        "+442079460959",
        "gus@example.com",
        "SF-9",
    }
    assert len(await records.search()) == 2


async def test_rows_matching_existing_customers_update_them(
    importer: CustomerCsv, records: CustomerRecords
) -> None:
    await importer.import_rows(io.StringIO(GOOD_AND_BAD))
    again = (
        "name,tier,phone,email\n"
        "Ana L.,relationship,,ana@acme.example\n"
        ",,+1 212 555 0142,gus@example.com\n"
        "New Person,,,new@example.com\n"
    )
    report = await importer.import_rows(io.StringIO(again))
    assert (report.created, report.updated) == (1, 1)
    assert report.errors[0][0] == 3 and "different customers" in report.errors[0][1]
    ana = (await records.resolve("email", "ana@acme.example")).customer
    assert ana.name == "Ana L." and ana.tier.value == "relationship"


async def test_export_then_import_round_trips(
    importer: CustomerCsv, records: CustomerRecords
) -> None:
    await importer.import_rows(io.StringIO(GOOD_AND_BAD))
    exported = [row async for row in importer.export_rows()]
    assert exported[0][0] == "id" and len(exported) == 3
    text = io.StringIO()
    csv.writer(text).writerows(exported)
    report = await importer.import_rows(io.StringIO(text.getvalue()))
    assert (report.created, report.updated, report.errors) == (0, 2, [])
    assert [row async for row in importer.export_rows()][1:] == exported[1:]


async def test_a_file_that_cannot_be_read_is_refused_whole(importer: CustomerCsv) -> None:
    with pytest.raises(CsvFormatError, match="unknown column 'phnoe'"):
        await importer.import_rows(io.StringIO("name,phnoe\nA,1\n"))
    with pytest.raises(CsvFormatError, match="empty"):
        await importer.import_rows(io.StringIO(""))
