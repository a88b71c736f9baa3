"""What every person-facing output must say: the disclaimer, the red flags and the triage rule.

This is the one place these texts live; the CLI, the figures, the HTML report and the web page import them.
The rule is the seed's: with any red flag, professional evaluation is essential. The first five flags are the
seed's own; the others are widely used additions from clinical guidance, each with the source it rests on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gutjoint._errors import InputError

DISCLAIMER = (
    "Educational research tool; not medical advice. Chronic joint pain or digestive symptoms should be "
    "evaluated by a qualified healthcare professional."
)
"""The seed's disclaimer, shown wherever a person reads output (the CLI, the figures, the reports, the page)."""


@dataclass(frozen=True)
class RedFlag:
    id: str
    label: str
    why: str
    source: str
    urgent: bool = False  # seek care today rather than soon

    @property
    def from_seed(self) -> bool:
        return self.source == SEED


SEED = "the seed article: 'severe, progressive, or associated with swelling, fever, or deformity'"

RED_FLAGS: tuple[RedFlag, ...] = (
    RedFlag("severe", "Severe joint pain", "Severe pain needs a diagnosis, not a model.", SEED),
    RedFlag("progressive", "Pain that keeps getting worse", "Worsening pain can mean active disease or damage.",
            SEED),
    RedFlag("swelling", "Swelling of a joint", "Swelling means fluid or inflamed lining in the joint (synovitis).",
            SEED),
    RedFlag("fever", "Fever, or feeling hot, cold or shivery, with joint pain",
            "Fever with joint pain can mean an infection in the joint or the body.", SEED, urgent=True),
    RedFlag("deformity", "A joint that has changed shape", "A change of shape can mean damage or a fracture.", SEED),
    RedFlag("hot_swollen_joint", "A joint that has suddenly become hot, swollen and tender",
            "Treated as an infected joint until proven otherwise, even without fever: it can destroy the joint.",
            "Coakley G et al., Guidelines for the management of the hot swollen joint in adults (BSR/BOA), "
            "Rheumatology 2006;45:1039, doi 10.1093/rheumatology/kel163a", urgent=True),
    RedFlag("persistent_swelling", "Joint swelling that does not go away, especially in the hands or feet or in "
            "more than one joint", "Possible inflammatory arthritis, where early treatment prevents joint damage.",
            "NICE CG79 rec. 1.1.1.1 (carried into NG100) and quality standard QS33: refer suspected persistent "
            "synovitis, urgently if small joints of the hands or feet or more than one joint are affected"),
    RedFlag("joint_after_gut_or_urinary_infection", "A hot, swollen or painful joint in the weeks after diarrhoea "
            "or a urinary infection", "Can be reactive arthritis, or an infected joint; both need a doctor to examine "
            "the joint soon.",
            "nidirect (NI Direct, Northern Ireland government), Reactive arthritis: see a GP as soon as possible, "
            "especially after recent diarrhoea or problems peeing; Coakley 2006 (as above) for a hot swollen joint"),
    RedFlag("prosthesis", "Pain in a joint that has been replaced (a prosthesis)",
            "A joint replacement can become infected, and needs a surgeon's assessment.",
            "Coakley 2006 (as above): a possibly infected prosthetic joint should always be referred to an "
            "orthopaedic surgeon", urgent=True),
    RedFlag("cannot_bear_weight", "After an ankle or foot injury, you cannot put weight on the leg",
            "Suggests a fracture that needs an X-ray.",
            "Ottawa ankle rules, a decision aid for excluding ankle and mid-foot fractures; systematic review "
            "Bachmann LM et al., BMJ 2003;326:417, doi 10.1136/bmj.326.7386.417"),
    RedFlag("long_morning_stiffness", "Morning stiffness that lasts more than 30 minutes",
            "Points to inflammatory arthritis rather than wear and tear.",
            "Humber and North Yorkshire inflammatory-arthritis pathway (after NICE QS33): morning stiffness "
            "usually lasting more than 30 minutes is a red-flag symptom of persistent synovitis"),
)
"""The red flags a person is asked about before any forecast: the seed's (severe, progressive, swelling, fever,
deformity) and the clinical ones added with their sources; ``triage`` turns the answers into guidance."""
RED_FLAG_IDS = tuple(f.id for f in RED_FLAGS)
RED_FLAG_LINE = ("If joint pain is severe, progressive, or comes with swelling, fever or deformity, professional "
                 "evaluation is essential.")


@dataclass(frozen=True)
class Triage:
    refer: bool
    urgent: bool
    message: str
    flags: tuple[RedFlag, ...]

    def as_dict(self) -> dict:
        return {"refer": self.refer, "urgent": self.urgent, "message": self.message,
                "flags": [f.id for f in self.flags], "disclaimer": DISCLAIMER}


def triage(flags: Iterable[str]) -> Triage:
    """Guidance for the red flags a person reports (ids from :data:`RED_FLAG_IDS`, any order, repeats ignored).

    Any red flag: professional evaluation is essential (today, for the urgent ones). None: the model may help
    to understand, and the disclaimer still applies."""
    chosen = []
    for raw in flags:
        name = str(raw).strip().lower().replace("-", "_")
        match = next((f for f in RED_FLAGS if f.id == name), None)
        if match is None:
            raise InputError(f"triage: flag {raw!r} is not a red flag; allowed: {', '.join(RED_FLAG_IDS)}")
        if match not in chosen:
            chosen.append(match)
    if not chosen:
        return Triage(False, False, "No red flags reported. If the pain persists, keeps you from daily activities "
                      "or worries you, see a doctor or physiotherapist. " + DISCLAIMER, ())
    urgent = any(f.urgent for f in chosen)
    when = ("Seek medical care today (an urgent appointment or emergency care)" if urgent
            else "Book an appointment with a doctor soon")
    listed = "; ".join(f.label.lower() for f in chosen)
    return Triage(True, urgent, f"Professional evaluation is essential. {when}: you reported {listed}. "
                  "This model cannot assess these signs.", tuple(chosen))
