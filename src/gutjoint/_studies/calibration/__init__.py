"""Calibration on human data: targets with provenance, fitting, uncertainty and a report.

    check()            every target against the shipped parameters (fits nothing)
    calibrate(...)     fit the parameters the targets inform, write them back, write the report
"""

from gutjoint._studies.calibration.targets import TARGETS, Evaluation, Outcome, Target, check, verdict

__all__ = ["TARGETS", "Evaluation", "Outcome", "Target", "check", "verdict"]
