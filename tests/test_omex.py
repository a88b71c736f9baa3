"""The COMBINE archive: valid by the libraries' own checks, and executed by two independent simulators
(tellurium's SED-ML runner on libRoadRunner, and COPASI's SED-ML import), which reproduce gutjoint's outputs
within the tolerances of the SBML cross-checks (libRoadRunner 1e-4, COPASI 1e-3)."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile

import libsbml
import numpy as np
import pandas as pd
import pytest

import gutjoint
from gutjoint._interfaces.omex import COLUMNS, LICENCE, TAXON, sedml_errors, write_omex

SCENARIOS = sorted(gutjoint.scenarios())
RTOL_TELLURIUM, RTOL_COPASI, ATOL_FLOOR = 1e-4, 1e-3, 1e-7  # as tests/test_exports.py


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    folder = tmp_path_factory.mktemp("omex")
    path = write_omex(folder / "gutjoint.omex", SCENARIOS)
    unpacked = folder / "unpacked"
    with zipfile.ZipFile(path) as z:
        z.extractall(unpacked)
    return path, unpacked


def _expected(unpacked, name) -> pd.DataFrame:
    return pd.read_csv(unpacked / "results" / f"{name}.csv")


def _assert_agrees(expected: pd.DataFrame, got: dict, rtol: float, who: str) -> None:
    for column in COLUMNS:
        a, b = np.asarray(got[column], dtype=float), expected[column].to_numpy()
        excess = np.abs(a - b) - (rtol * np.abs(b) + ATOL_FLOOR)
        worst = int(np.argmax(excess))
        assert excess[worst] <= 0, f"{who}: {column} at t={expected['time_days'][worst]:g}: {a[worst]!r} vs {b[worst]!r}"


def test_the_archive_holds_every_scenario_and_passes_the_libraries_checks(archive):
    import libcombine

    path, unpacked = archive
    read = libcombine.CombineArchive()
    assert read.initializeFromArchive(str(path))
    locations = {read.getEntry(i).getLocation(): read.getEntry(i).getFormat() for i in range(read.getNumEntries())}
    for name in SCENARIOS:
        assert locations[f"{name}.xml"].endswith("/sbml") and locations[f"{name}.sedml"].endswith("/sed-ml")
        assert f"results/{name}.csv" in locations
        doc = libsbml.readSBMLFromFile(str(unpacked / f"{name}.xml"))
        assert doc.getNumErrors(libsbml.LIBSBML_SEV_ERROR) == 0
        assert sedml_errors((unpacked / f"{name}.sedml").read_text(encoding="utf-8")) == []
    assert read.getMasterFile().getLocation() == f"{SCENARIOS[0]}.sedml"
    metadata = (unpacked / "metadata.rdf").read_text(encoding="utf-8")
    for needed in (LICENCE, TAXON, "dcterms:creator", "dcterms:created", "dcterms:modified", "not medical advice"):
        assert needed in metadata
    read.cleanUp()


def test_the_expected_results_are_gutjoints_own_run(archive):
    _, unpacked = archive
    run = gutjoint.simulate("barrier-support", tolerances=gutjoint.Tolerances(rtol=1e-10, atol=1e-12)).frame
    expected = _expected(unpacked, "barrier-support")
    np.testing.assert_allclose(expected[["time_days", *COLUMNS]].to_numpy(), run[["time_days", *COLUMNS]].to_numpy(),
                               rtol=1e-12, atol=0)


def test_tellurium_executes_the_archive_and_reproduces_every_scenario(archive, tmp_path):
    pytest.importorskip("tellurium")
    from tellurium.sedml import tesedml

    path, unpacked = archive
    import matplotlib.pyplot as plt

    try:
        tesedml.executeCombineArchive(str(path), outputDir=str(tmp_path), saveOutputs=True,
                                      plottingEngine="matplotlib")
    finally:
        plt.close("all")  # tellurium draws through pyplot
    for name in SCENARIOS:
        got = pd.read_csv(tmp_path / f"{name}_outputs.csv")
        expected = _expected(unpacked, name)
        assert np.allclose(got["time_days"], expected["time_days"], atol=1e-9)
        _assert_agrees(expected, got, RTOL_TELLURIUM, f"tellurium, {name}")
    assert (tmp_path / f"{SCENARIOS[0]}_panel_1.pdf").exists()  # the plots are drawn from the SED-ML too


@pytest.mark.parametrize("name", SCENARIOS)
def test_copasi_imports_the_sedml_and_reproduces_the_scenario(archive, name):
    COPASI = pytest.importorskip("COPASI")
    basico = pytest.importorskip("basico")
    _, unpacked = archive
    model = COPASI.CRootContainer.addDatamodel()
    try:
        assert model.importSEDML(str(unpacked / f"{name}.sedml"))
        course = basico.run_time_course(model=model, use_initial_values=True, update_model=False)
    finally:
        basico.remove_datamodel(model)
    course = course.rename(columns=lambda c: c[len("Values["):-1] if c.startswith("Values[") else c)
    expected = _expected(unpacked, name)
    assert np.allclose(course.index.to_numpy(), expected["time_days"], atol=1e-9)
    _assert_agrees(expected, {c: course[c].to_numpy() for c in COLUMNS}, RTOL_COPASI, f"COPASI, {name}")


def test_copasi_opens_the_archive_itself(archive):
    COPASI = pytest.importorskip("COPASI")
    path, _ = archive
    model = COPASI.CRootContainer.addDatamodel()
    try:
        assert model.openCombineArchive(str(path))
        assert model.getTask("Time-Course").getProblem().getDuration() > 0
    finally:
        COPASI.CRootContainer.removeDatamodel(model)


def test_export_omex_without_a_scenario_is_one_clear_line(tmp_path):
    run = subprocess.run([sys.executable, "-m", "gutjoint", "export", "omex", "--out",
                          str(tmp_path / "a.omex")], capture_output=True, text=True)
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1 and "--scenario" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "a.omex").exists()


def test_export_omex_writes_the_archive_from_the_cli(tmp_path):
    run = subprocess.run([sys.executable, "-m", "gutjoint", "export", "omex", "--scenario", "healthy",
                          "--out", str(tmp_path / "h.omex")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    with zipfile.ZipFile(tmp_path / "h.omex") as z:
        names = set(z.namelist())
        assert {"manifest.xml", "metadata.rdf", "healthy.xml", "healthy.sedml", "results/healthy.csv"} <= names
        frame = pd.read_csv(io.BytesIO(z.read("results/healthy.csv")))
    assert list(frame.columns) == ["time_days", *COLUMNS]
