"""The outcomes an area SEND inspection can give, in the inspectorate's exact words."""

from __future__ import annotations

# Full inspections: the three outcomes, in the order the inspectorate lists them.
FULL_OUTCOMES = {
    1: "The local area partnership’s SEND arrangements typically lead to positive experiences and outcomes for "
       "children and young people with SEND. The local area partnership is taking action where improvements are "
       "needed.",
    2: "The local area partnership’s arrangements lead to inconsistent experiences and outcomes for children and "
       "young people with SEND. The local area partnership must work jointly to make improvements.",
    3: "There are widespread and/or systemic failings leading to significant concerns about the experiences and "
       "outcomes of children and young people with SEND, which the local area partnership must address urgently.",
}


def outcome_words(outcome: int) -> str:
    """Return the words of outcome 1, 2 or 3; refuse any other number."""
    if outcome not in FULL_OUTCOMES:
        raise ValueError(f"outcome must be 1, 2 or 3 (got {outcome!r})")
    return FULL_OUTCOMES[outcome]
