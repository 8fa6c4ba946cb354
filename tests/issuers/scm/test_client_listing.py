"""List with size/position paging past 200 items, X-Total-Count, HEAD count, filters."""

import asyncio

from app.issuers.scm import EnrollRequest

from .keys import make_csr
from .ordering import COST_CENTER, ORG_ID, profile_id

ORDERS = 205  # more than one page of 200


async def test_paging_past_200(scm, unique_cn):
    csr, _ = make_csr(unique_cn)
    request = EnrollRequest(
        org_id=ORG_ID,
        csr=csr,
        cert_type=await profile_id(scm, "PositiveSSL"),
        term=365,
        custom_fields=COST_CENTER,
    )
    gate = asyncio.Semaphore(20)

    async def one():
        async with gate:
            return (await scm.enroll(request)).ssl_id

    created = set(await asyncio.gather(*(one() for _ in range(ORDERS))))
    assert len(created) == ORDERS

    assert await scm.count_certificates(common_name=unique_cn) == ORDERS
    listed = [item async for item in scm.list_certificates(common_name=unique_cn)]
    assert {item.ssl_id for item in listed} == created
    assert all(item.common_name == unique_cn for item in listed)

    page, total = await scm.list_certificates_page(common_name=unique_cn, position=200)
    assert total == ORDERS
    assert len(page) == ORDERS - 200
    first, _ = await scm.list_certificates_page(common_name=unique_cn, size=7)
    assert len(first) == 7
    assert await scm.count_certificates(common_name=unique_cn, status="Revoked") == 0
