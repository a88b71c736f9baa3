"""A COMBINE archive (OMEX 1.0) of scenario runs, for tools that execute simulation experiments.

For each scenario the archive holds:

- ``<scenario>.xml``: the SBML of that run (:func:`gutjoint._interfaces.sbml.build_sbml`): the resting state as
  initial amounts, the scenario's parameter and trait values, and every input change and bolus as an SBML event;
- ``<scenario>.sedml``: a SED-ML L1V4 document: a uniform time course on gutjoint's output grid (CVODE,
  KISAO:0000019, with its tolerances), every output column as a data generator, one report of all of them, and one
  plot per panel of ``gutjoint simulate``'s figure;
- ``results/<scenario>.csv``: gutjoint's own run of it (engine at rtol 1e-10), the numbers a reproduction is
  checked against.

Why the scenario lives in the SBML (as events) and not in SED-ML changes: a SED-ML ``changeAttribute`` can set a
value before the run, but a scenario switches exposures on and off and gives doses *during* it, and adding events
through SED-ML (``addXML``) is not executed by the common tools. So each scenario ships the model it runs, all built
from the one symbolic definition. The manifest (``manifest.xml``) is written by libCombine; ``metadata.rdf``
holds the creators, dates, description, licence and taxon (OMEX metadata: Gennari et al. 2021, J Integr
Bioinform 18:20210020; COMBINE archive: Bergmann et al. 2014, BMC Bioinformatics 15:369).
"""

from __future__ import annotations

import datetime
import tempfile
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from gutjoint._errors import InputError, require
from gutjoint._biology import species
from gutjoint._files import atomic_write
from gutjoint._interfaces.figures import PANELS

if TYPE_CHECKING:
    import libsbml
else:
    libsbml = require("libsbml", "exchange")

RELATIVE_TOLERANCE, ABSOLUTE_TOLERANCE = 1e-10, 1e-12
"""The tolerances the SED-ML asks of the simulator (those of the SBML cross-checks in tests/test_exports.py)."""
COLUMNS = species.PINNED_OUTPUTS[1:] + species.EXTRA_OUTPUTS
"""Every output column of ``gutjoint simulate`` but time, in its order."""
KISAO = {"cvode": "KISAO:0000019", "rtol": "KISAO:0000209", "atol": "KISAO:0000211"}
LICENCE = "https://spdx.org/licenses/MIT"
TAXON = "http://identifiers.org/taxonomy/9606"  # Homo sapiens (NCBITaxon:9606)
CREATOR = ("gutjoint developers", "https://github.com/gutjoint")
SBML_NS = "http://www.sbml.org/sbml/level3/version2/core"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def _target(model: libsbml.Model, column: str) -> str:
    """The XPath of an output column in the SBML: a species (a state) or a parameter (an assigned output)."""
    kind = "species" if model.getSpecies(column) is not None else "parameter"
    if kind == "parameter" and model.getParameter(column) is None:
        raise ValueError(f"output {column!r} is neither a species nor a parameter of the SBML")
    plural = "listOfSpecies" if kind == "species" else "listOfParameters"
    return f"/sbml:sbml/sbml:model/sbml:{plural}/sbml:{kind}[@id='{column}']"


def sedml_document(scenario, model_location: str, times, model: libsbml.Model):
    """The SED-ML (L1V4) of one scenario run on the SBML at ``model_location``: its time course, a data
    generator per output column, a report of all of them, and the figure's panels as plots."""
    libsedml = require("libsedml", "exchange")

    doc = libsedml.SedDocument(1, 4)
    doc.getNamespaces().add(SBML_NS, "sbml")
    sed_model = doc.createModel()
    sed_model.setId("model")
    sed_model.setLanguage("urn:sedml:language:sbml.level-3.version-2")
    sed_model.setSource(model_location)
    course = doc.createUniformTimeCourse()
    course.setId("time_course")
    course.setInitialTime(0.0)
    course.setOutputStartTime(0.0)
    course.setOutputEndTime(float(times[-1]))
    course.setNumberOfSteps(len(times) - 1)
    algorithm = course.createAlgorithm()
    algorithm.setKisaoID(KISAO["cvode"])
    for key, value in (("rtol", RELATIVE_TOLERANCE), ("atol", ABSOLUTE_TOLERANCE)):
        parameter = algorithm.createAlgorithmParameter()
        parameter.setKisaoID(KISAO[key])
        parameter.setValue(repr(value))
    task = doc.createTask()
    task.setId("task")
    task.setModelReference("model")
    task.setSimulationReference("time_course")
    for column in ("time", *COLUMNS):
        generator = doc.createDataGenerator()
        generator.setId(f"dg_{column}")
        generator.setName("time_days" if column == "time" else column)
        variable = generator.createVariable()
        variable.setId(f"v_{column}")
        variable.setTaskReference("task")
        if column == "time":
            variable.setSymbol("urn:sedml:symbol:time")
        else:
            variable.setTarget(_target(model, column))
        generator.setMath(libsedml.parseL3Formula(f"v_{column}"))
    report = doc.createReport()
    report.setId("outputs")
    report.setName(f"gutjoint outputs, scenario {scenario.name}")
    for column in ("time", *COLUMNS):
        data_set = report.createDataSet()
        data_set.setId(f"ds_{column}")
        data_set.setLabel("time_days" if column == "time" else column)
        data_set.setDataReference(f"dg_{column}")
    panels = [(title, [c for c, _, _ in series], log) for title, series, _, log in PANELS if series]
    panels.append(("Pain by source", [f"pain_{s}" for s in species.PAIN_SOURCES] + ["pain_nrs"], False))
    for k, (title, columns, log) in enumerate(panels, start=1):
        plot = doc.createPlot2D()
        plot.setId(f"panel_{k}")
        plot.setName(title)
        plot.setLegend(True)
        for column in columns:
            curve = plot.createCurve()
            curve.setId(f"panel_{k}_{column}")
            curve.setName(column)
            curve.setXDataReference("dg_time")
            curve.setYDataReference(f"dg_{column}")
            curve.setType(libsedml.SEDML_CURVETYPE_POINTS)  # L1V4: a line through the points
        if log:
            axis = plot.createYAxis()
            axis.setType(libsedml.SEDML_AXISTYPE_LOG10)
    return doc


def sedml_errors(text: str) -> list[str]:
    """libSEDML's errors (severity error or fatal) on reading the document ``text``: empty for a valid one."""
    libsedml = require("libsedml", "exchange")

    doc = libsedml.readSedMLFromString(text)
    log = doc.getErrorLog()
    return [log.getError(i).getMessage().strip() for i in range(log.getNumErrors())
            if log.getError(i).getSeverity() >= libsedml.LIBSEDML_SEV_ERROR]


def _metadata_rdf(description: str, when: str) -> str:
    """OMEX metadata of the archive itself: description, creator, created and modified dates, licence, taxon."""
    name, url = CREATOR
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dcterms="http://purl.org/dc/terms/"
         xmlns:vCard="http://www.w3.org/2006/vcard/ns#" xmlns:bqbiol="http://biomodels.net/biology-qualifiers/">
  <rdf:Description rdf:about=".">
    <dcterms:title>gutjoint: an evidence-graded mechanistic model of the gut-joint axis</dcterms:title>
    <dcterms:description>{escape(description)}</dcterms:description>
    <dcterms:created rdf:parseType="Resource"><dcterms:W3CDTF>{when}</dcterms:W3CDTF></dcterms:created>
    <dcterms:modified rdf:parseType="Resource"><dcterms:W3CDTF>{when}</dcterms:W3CDTF></dcterms:modified>
    <dcterms:creator rdf:parseType="Resource">
      <vCard:hasName rdf:parseType="Resource"><vCard:family-name>{escape(name)}</vCard:family-name></vCard:hasName>
      <vCard:organization-name>gutjoint</vCard:organization-name>
      <vCard:hasURL rdf:resource="{url}"/>
    </dcterms:creator>
    <dcterms:license rdf:resource="{LICENCE}"/>
    <bqbiol:hasTaxon rdf:resource="{TAXON}"/>
  </rdf:Description>
</rdf:RDF>
"""


def write_omex(out: str | Path, scenarios: Sequence) -> Path:
    """Write the COMBINE archive of ``scenarios`` (names, paths, dicts or Scenario objects) to ``out`` atomically;
    every SED-ML document is checked with libSEDML before it is packed."""
    libcombine = require("libcombine", "exchange")
    libsedml = require("libsedml", "exchange")

    from gutjoint._interfaces.sbml import build_sbml
    from gutjoint._studies.scenario import load_scenario
    from gutjoint._studies.simulate import simulate
    from gutjoint._numerics.integrate import Tolerances

    loaded = [load_scenario(s) for s in scenarios]
    if not loaded:
        raise InputError("export omex: option '--scenario' was not given; allowed: one or more scenarios, e.g. "
                         "--scenario barrier-support --scenario healthy")
    names = [_safe(sc.name) for sc in loaded]
    if len(set(names)) != len(names):
        raise InputError(f"export omex: option '--scenario' names one scenario twice ({', '.join(names)}); allowed: "
                         "distinct scenarios")
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        archive = libcombine.CombineArchive()
        for k, (scenario, name) in enumerate(zip(loaded, names)):
            doc = build_sbml(scenario=scenario)
            run = simulate(scenario, tolerances=Tolerances(rtol=RELATIVE_TOLERANCE, atol=ABSOLUTE_TOLERANCE))
            sedml = sedml_document(scenario, f"{name}.xml", run.frame["time_days"].to_numpy(),
                                   doc.getModel())
            sedml_text = libsedml.writeSedMLToString(sedml)
            problems = sedml_errors(sedml_text)
            if problems:
                raise RuntimeError(f"SED-ML of {scenario.name} is invalid: {problems[0]}")
            files = {f"{name}.xml": (libsbml.writeSBMLToString(doc), "sbml"),
                     f"{name}.sedml": (sedml_text, "sedml"),
                     f"results/{name}.csv": (run.frame[["time_days", *COLUMNS]].to_csv(index=False), "csv")}
            for location, (text, kind) in files.items():
                path = root / location
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                archive.addFile(str(path), location, libcombine.KnownFormats.lookupFormat(kind),
                                kind == "sedml" and k == 0)
        description = ("Simulation experiments of gutjoint (educational research model; not medical advice): "
                       + "; ".join(f"{sc.name}: {sc.description}" if sc.description else sc.name for sc in loaded)
                       + ". results/ holds gutjoint's own outputs for checking a reproduction.")
        rdf = root / "metadata.rdf"
        rdf.write_text(_metadata_rdf(description, when), encoding="utf-8")
        archive.addFile(str(rdf), "metadata.rdf", "http://identifiers.org/combine.specifications/omex-metadata",
                        False)
        itself = archive.getManifest().createContent()  # the archive's own entry
        itself.setLocation(".")
        itself.setFormat("http://identifiers.org/combine.specifications/omex")

        def write(tmp: Path) -> None:
            if not archive.writeToFile(str(tmp)):
                raise RuntimeError("libCombine could not write the archive")

        path = atomic_write(Path(out), write, field="--out")
        archive.cleanUp()
    return path
