"""The 1C OData client's protocol details and the stand-in's filter parser, without I/O."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from counterparty_svc.onec_client import (
    OneCClient,
    OneCConfig,
    OneCError,
    OneCUnavailable,
    odata_string,
    parse_odata_error,
)
from counterparty_svc.stubs.onec_odata import FilterError, parse_filter


class FakeSession(requests.Session):
    """Answers from a script instead of the network; records the URLs asked."""

    def __init__(self, answers: list[Any]) -> None:
        super().__init__()
        self.answers = answers
        self.urls: list[str] = []

    def get(self, url: str | bytes, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.urls.append(str(url))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        response = requests.Response()
        response.status_code = status
        response._content = body.encode()
        return response


def client(answers: list[Any]) -> tuple[OneCClient, FakeSession]:
    session = FakeSession(answers)
    config = OneCConfig("http://1c.local/base/odata/standard.odata", "u", "p", backoff_seconds=0)
    return OneCClient(config, session), session


def test_the_filter_is_odata_v3_with_json_asked_for() -> None:
    onec, session = client([(200, '{"value": []}')])
    assert onec.find_by_inn("7707083893") == []
    url = session.urls[0]
    assert "/Catalog_%D0%9A" in url  # Catalog_Контрагенты, UTF-8 percent-encoded
    assert "$format=json" in url
    assert "$filter=%D0%98%D0%9D%D0%9D%20eq%20'7707083893'%20and%20IsFolder%20eq%20false" in url


def test_a_key_is_written_as_guid_literal_and_404_means_absent() -> None:
    onec, session = client([(404, '{"odata.error": {"code": "-1", "message": {"value": "нет"}}}')])
    assert onec.get("4f6a1c2e-0000-4000-8000-000000000001") is None
    assert "(guid'4f6a1c2e-0000-4000-8000-000000000001')" in session.urls[0]


def test_5xx_and_network_errors_are_retried_then_reported_unavailable() -> None:
    ok = (200, '{"odata.count": "1", "value": [{"Ref_Key": "x"}]}')
    onec, session = client([(503, "{}"), requests.ConnectionError("refused"), ok])
    page = onec.page(0, 10)
    assert page.total == 1 and len(session.urls) == 3
    onec, _ = client([(502, ""), (503, ""), (504, "")])
    with pytest.raises(OneCUnavailable):
        onec.page(0, 10)


def test_a_4xx_is_not_retried_and_carries_1cs_message() -> None:
    body = (
        '{"odata.error": {"code": "15", "message": {"lang": "ru", "value": "Неправильный фильтр"}}}'
    )
    onec, session = client([(400, body)])
    with pytest.raises(OneCError) as caught:
        onec.find_by_inn("7707083893")
    assert "Неправильный фильтр" in str(caught.value) and caught.value.status == 400
    assert not isinstance(caught.value, OneCUnavailable) and len(session.urls) == 1


def test_odata_strings_double_their_quotes() -> None:
    assert odata_string("O'Brien") == "'O''Brien'"


def test_an_error_body_that_is_not_odata_is_reported_raw() -> None:
    response = requests.Response()
    response._content = b"<html>bad gateway</html>"
    assert parse_odata_error(response) == ("", "<html>bad gateway</html>")


def test_the_stand_in_understands_the_filters_we_send() -> None:
    assert parse_filter("ИНН eq '7707083893' and IsFolder eq false") == [
        ("ИНН", "7707083893"),
        ("IsFolder", False),
    ]
    assert parse_filter("Ref_Key eq guid'4f6a1c2e-0000-4000-8000-000000000001'") == [
        ("Ref_Key", "4f6a1c2e-0000-4000-8000-000000000001")
    ]
    with pytest.raises(FilterError):
        parse_filter("substringof('Ромашка', Description)")
