"""Routes drawn as Mermaid flowcharts."""

from __future__ import annotations

from services.workflow.diagram import to_mermaid
from tests.unit.workflow.fakes import example, route


def edges(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if "-->" in line}


def test_a_sequence_runs_from_start_to_end() -> None:
    text = to_mermaid(example("contract_approval"))
    assert text.startswith("flowchart TD\n")
    assert {
        "start --> s_department_head",
        "s_department_head --> s_pto",
        "s_director --> s_sign",
        "s_register --> finish",
    } <= edges(text)
    assert 's_register("Enter the contract into the contract register<br/>task · any' in text


def test_parallel_steps_fork_and_join() -> None:
    text = to_mermaid(example("contract_approval_parallel"))
    assert {
        "s_pto --> s_review_fork",
        's_review_fork -->|"legal"| s_legal',
        's_review_fork -->|"finance"| s_finance',
        "s_legal --> s_review_join",
        "s_finance --> s_review_join",
        "s_review_join --> s_accounting",
    } <= edges(text)


def test_condition_branches_are_labelled_by_their_case() -> None:
    text = to_mermaid(example("incoming_letter"))
    assert {
        's_routing -->|"= tenant"| s_tenant_review',
        's_routing -->|"in government, contractor, supplier"| s_ceo_review',
        's_routing -->|"default"| s_ceo_review',
        "s_tenant_review --> finish",
        "s_execution --> finish",
    } <= edges(text)


def test_waits_jumps_empty_branches_and_quotes() -> None:
    r = route(
        [
            {
                "id": "a",
                "kind": "approval",
                "title": 'The "big" one',
                "assignees": [{"role": "ceo"}],
                "next": "w",
            },
            {"id": "b", "kind": "approval", "assignees": [{"role": "ceo"}]},
            {"id": "w", "kind": "wait_until", "field": "control_date"},
            {
                "id": "c",
                "kind": "condition",
                "field": "amount",
                "cases": [{"lt": 10, "branch": "skip"}],
                "default": "more",
                "branches": [
                    {"id": "skip", "steps": []},
                    {
                        "id": "more",
                        "steps": [{"id": "d", "kind": "task", "assignees": [{"role": "pto"}]}],
                    },
                ],
            },
        ]
    )
    text = to_mermaid(r)
    assert "#quot;big#quot;" in text and '"big"' not in text
    assert {
        "s_a --> s_w",
        "s_b --> s_w",
        "s_w --> s_c",
        's_c -->|"#lt; 10"| finish',
        "s_d --> finish",
    } <= edges(text)
    assert 's_w[/"w<br/>wait until control_date"/]' in text
