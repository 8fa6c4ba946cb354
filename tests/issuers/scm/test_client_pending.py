"""Every "not yet" answer of collect is a ScmPendingError, never a failure."""

import pytest

from app.issuers.scm import ScmPendingError

from .ordering import enroll, wait_collect


async def pending_code(scm, ssl_id: int, path_form: bool = False) -> int:
    with pytest.raises(ScmPendingError) as pending:
        await scm.collect(ssl_id, "x509CO", path_form=path_form)
    return pending.value.code


@pytest.mark.parametrize("path_form", [False, True])
async def test_requested_and_applied_codes(scm, control, unique_cn, path_form):
    result, _, _ = await enroll(scm, unique_cn)
    await control.force_state(result.ssl_id, "Requested")
    assert await pending_code(scm, result.ssl_id, path_form) == -183
    await control.force_state(result.ssl_id, "Applied")
    assert await pending_code(scm, result.ssl_id, path_form) == -1400
    await control.force_state(result.ssl_id, "Issued")
    assert await wait_collect(scm, result.ssl_id) == []


async def test_legacy_code_zero_and_code_109(scm, control, unique_cn):
    result, _, _ = await enroll(scm, unique_cn)
    await control.force_state(result.ssl_id, "Applied")
    await control.settings(legacy_collect_pending=True)
    assert await pending_code(scm, result.ssl_id) == 0
    await control.settings(legacy_collect_pending=False, collect_pending_code_applied=-109)
    assert await pending_code(scm, result.ssl_id) == -109


async def test_natural_lifecycle_passes_through_pending(scm, control, unique_cn):
    await control.settings(requested_to_applied_seconds=0.2, applied_to_issued_seconds=0.3)
    result, _, _ = await enroll(scm, unique_cn)
    codes = await wait_collect(scm, result.ssl_id)
    assert codes and set(codes) <= {-183, -1400}
