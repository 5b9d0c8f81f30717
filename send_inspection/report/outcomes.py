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


# Monitoring inspections: whether the partnership's action on the areas for priority action was effective.
MONITORING_OUTCOMES = {
    1: "The local area partnership has taken effective action to address the areas for priority action.",
    2: "The local area partnership has taken ineffective action to address the areas for priority action.",
}


def outcomes_for(kind: str) -> dict[int, str]:
    """Return the possible outcomes of an inspection of `kind` ("full" or "monitoring")."""
    return MONITORING_OUTCOMES if kind == "monitoring" else FULL_OUTCOMES


def outcome_words(outcome: int, *, kind: str = "full") -> str:
    """Return the words of an outcome of an inspection of `kind`; refuse a number it does not have."""
    outcomes = outcomes_for(kind)
    if outcome not in outcomes:
        numbers = [str(n) for n in outcomes]
        allowed = f"{', '.join(numbers[:-1])} or {numbers[-1]}"
        raise ValueError(f"outcome must be {allowed} for a {kind} inspection (got {outcome!r})")
    return outcomes[outcome]
