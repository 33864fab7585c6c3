"""The 1C OData client over real HTTP: against the stand-in, a closed port, wrong credentials."""

from __future__ import annotations

import pytest
import requests

from counterparty_svc.onec_client import OneCClient, OneCConfig, OneCError, OneCUnavailable
from counterparty_svc.testing import OneCStub, legal_entity, onec_item
from services.devstack import Stack, free_port

pytestmark = pytest.mark.integration


def test_a_closed_port_is_unavailable_after_the_retries() -> None:
    config = OneCConfig(
        f"http://127.0.0.1:{free_port()}/odata/standard.odata", "u", "p", backoff_seconds=0.01
    )
    with pytest.raises(OneCUnavailable) as caught:
        OneCClient(config).find_by_inn("7707083893")
    assert "ConnectionError" in str(caught.value)


def test_the_client_pages_and_finds_by_inn_on_the_stand_in(suite: Stack) -> None:
    stub = OneCStub(suite)
    username, password = stub.auth
    onec = OneCClient(OneCConfig(stub.odata_url, username, password))
    data = legal_entity()
    item = onec_item(data)
    stub.add(item)
    [found] = onec.find_by_inn(data["inn"])
    assert found["Ref_Key"] == item["Ref_Key"] and found["КПП"] == data["kpp"]
    assert onec.get(item["Ref_Key"])["Description"] == item["Description"]  # type: ignore[index]
    total = stub.catalogue_size()
    first, second = onec.page(0, 3), onec.page(3, 3)
    assert first.total == second.total == total
    keys = [i["Ref_Key"] for i in first.items + second.items]
    assert keys == sorted(keys) and len(set(keys)) == 6


def test_wrong_credentials_are_a_refusal_not_an_outage(suite: Stack) -> None:
    stub = OneCStub(suite)
    onec = OneCClient(OneCConfig(stub.odata_url, "intruder", "guess"))
    with pytest.raises(OneCError) as caught:
        onec.find_by_inn("7707083893")
    assert caught.value.status == 401 and not isinstance(caught.value, OneCUnavailable)


def test_the_stand_in_refuses_atom_requests(suite: Stack) -> None:
    stub = OneCStub(suite)
    answer = requests.get(
        f"{stub.odata_url}/Catalog_Контрагенты", auth=stub.auth, headers={"Accept": "*/*"}
    )
    assert answer.status_code == 415
    assert "odata.error" in answer.json()
