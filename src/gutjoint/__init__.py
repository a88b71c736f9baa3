"""gutjoint: an executable, evidence-graded mechanistic model of the gut–joint axis."""
