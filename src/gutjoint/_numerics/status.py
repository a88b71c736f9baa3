"""How a run ended: one table. Each member carries its engine code (the integer the compiled integrator writes),
its name, what happened and what to change. The integrator's status constants are read from it (:mod:`gutjoint._numerics.rodas4`)."""

from __future__ import annotations

import enum


class Status(enum.Enum):
    """Outcome of one run, with what happened and advice for the failures."""

    SUCCESS = (0, "success", "", "")
    STEP_LIMIT = (1, "step_limit", "more than max_steps steps between two output times",
                  "the solver hit its step limit: raise max_steps, or shorten the horizon")
    TOLERANCE = (2, "tolerance", "the step size fell below the arithmetic's resolution",
                 "the tolerances are tighter than the arithmetic allows: loosen rtol/atol")
    NONFINITE = (3, "nonfinite", "a state became NaN or infinite",
                 "the solution became NaN or infinite: check parameter values for overflow")
    NEGATIVE = (4, "negative", "a state fell clearly below zero",
                "a state went clearly negative: parameters may be outside their plausible ranges")
    CONVERGENCE = (5, "convergence", "the step matrix stayed singular as the step shrank",
                   "repeated convergence failures: the system may be extremely stiff")
    STEADY_STATE = (6, "steady_state", "no resting steady state was found",
                    "no resting steady state was found: check traits and parameter overrides")

    def __init__(self, engine_code: int, code: str, message: str, advice: str):
        self.engine_code = engine_code
        self.code = code
        self.message = message
        self.advice = advice

    @property
    def ok(self) -> bool:
        return self is Status.SUCCESS

    @classmethod
    def from_engine(cls, engine_code: int) -> Status:
        return _BY_ENGINE_CODE[engine_code]


_BY_ENGINE_CODE = {s.engine_code: s for s in Status}

