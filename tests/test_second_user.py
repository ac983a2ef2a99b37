"""What one user's vggviz writes, read by another user's, as a class has it: a teacher (root)
downloads the weights, extracts the classifier's arrays and computes patterns; a student (a
second, unprivileged user created here) opens them through vggviz. And a Kubernetes pod's user
(uid 1000 there) under a Keras home it cannot write, as the single-user image has it.

The second user and how it reaches this interpreter (in root's home) without the machine being
left otherwise: tests/second_user.py. Skipped only when not root outside CI; under CI it runs.
"""

import html
import json
import os
import re
import shutil
import tempfile
import textwrap
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from second_user import (
    ROOT,
    create_user,
    delete_user,
    interpreter_paths,
    machine_state,
)

from vggviz.sources.imagenet import _IMAGENET_FILES

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

NOTOP = _IMAGENET_FILES[("vgg16", False)][0]
TOP = _IMAGENET_FILES[("vgg16", True)][0]
CHANNELS = [0, 5, 9]


@contextmanager
def umask(mask: int):
    """The process's umask set to `mask` inside the block (what a teacher's shell has)."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture(scope="module")
def place():
    """A folder for this module's teacher, pod and student files, open to others as a shared
    cache is (not under pytest's own temporary folder, which pytest keeps at mode 0700 and
    resets when another pytest starts)."""
    path = Path(tempfile.mkdtemp(prefix="vggviz-class-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


@pytest.fixture(scope="module")
def student(place):
    """A second, unprivileged user, let through to this interpreter for the module; removed
    afterwards, with every folder's mode and ACL checked to be as they were."""
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("the second-user tests must run under CI, which runs as root")
        pytest.skip("creating a second user needs root (CI runs these)")
    paths = [*interpreter_paths(), place]
    before = machine_state(paths)
    user = create_user(place)
    try:
        user.let_through(*paths)
        yield user
    finally:
        user.give_back()
        delete_user(user)
        assert machine_state(paths) == before, "the machine is not left as it was"


@pytest.fixture(scope="module")
def teacher(place, served_weights, imagenet_home_with_classifier):
    """A teacher's Keras home filled through vggviz as root with umask 022: the ImageNet file
    downloaded (from a folder mirror), the classifier's arrays extracted from the top file,
    the patterns of a few stem maps; and a file only root may read."""
    from vggviz.by_hand.classifier import SharedClassifier
    from vggviz.network.features import FeatureExtractor
    from vggviz.network.patterns import ActivationPatterns
    from vggviz.sources.downloads import download

    home = place / "teacher-keras"
    mirror = place / "mirror"
    mirror.mkdir()
    (mirror / NOTOP).write_bytes(served_weights.data)
    with pytest.MonkeyPatch.context() as mp, umask(0o022):
        mp.setenv("KERAS_HOME", str(home))
        mp.delenv("VGGVIZ_CACHE", raising=False)
        download((mirror / NOTOP).as_uri(), home / "models" / NOTOP, served_weights.md5)
        os.link(imagenet_home_with_classifier / "models" / TOP, home / "models" / TOP)
        fx = FeatureExtractor("vgg16", weights="imagenet")
        found = {p.channel: p.pixels
                 for p in ActivationPatterns(fx).attribute_all(None, "stem", CHANNELS)}
        head = SharedClassifier.for_extractor(fx)
    private = place / "private-keras" / "models"
    private.mkdir(parents=True)
    shutil.copyfile(home / "models" / NOTOP, private / NOTOP)
    os.chmod(private / NOTOP, 0o600)  # what mkstemp left before: only its writer reads it
    return {"home": home, "patterns": found, "entry": head.entry,
            "bias": np.asarray(head.arrays["predictions_bias"]), "private": private.parent}


STUDENT = textwrap.dedent("""
    import json, os, sys
    import numpy as np
    from vggviz.by_hand.classifier import SharedClassifier
    from vggviz.network.patterns import cached_patterns
    from vggviz.ui.parts.extractors import ExtractorPool

    fx, reason = ExtractorPool().get("vgg16", "imagenet", "vgg", 0)  # as the explorer opens
    found = cached_patterns(fx, "stem", json.loads(sys.argv[1]))
    head = SharedClassifier.for_extractor(fx)
    os.environ["KERAS_HOME"] = sys.argv[2]  # a Keras home whose file only root may read
    _, unreadable = ExtractorPool().get("vgg16", "imagenet", "vgg", 0)
    print(json.dumps({
        "weights": fx.weights, "reason": reason, "kernel": fx.kernels().tolist(),
        "patterns": {c: p.pixels.tolist() for c, p in found.items()},
        "entry": str(head.entry), "extracted": head.extracted,
        "bias": np.asarray(head.arrays["predictions_bias"]).tolist(),
        "unreadable": unreadable}))
""")


def test_a_student_reads_the_teachers_weights_classifier_and_patterns(student, teacher,
                                                                       served_weights):
    own = student.home / "cache"  # the student's own cache, first, as the hub config has it
    got = student.python(STUDENT, {
        "KERAS_HOME": str(teacher["home"]),
        "VGGVIZ_CACHE": os.pathsep.join([str(own), str(teacher["home"] / "vggviz")])},
        json.dumps(CHANNELS), str(teacher["private"]))
    assert got["weights"] == "imagenet" and got["reason"] is None
    assert np.array_equal(np.asarray(got["kernel"], np.float32), served_weights.kernel)
    assert sorted(int(c) for c in got["patterns"]) == CHANNELS  # read, not computed again
    for channel, pixels in got["patterns"].items():
        assert np.array_equal(np.asarray(pixels, np.uint8), teacher["patterns"][int(channel)])
    assert got["entry"] == str(teacher["entry"]) and not got["extracted"]  # no 494 MB copy
    assert np.array_equal(np.asarray(got["bias"], np.float32), teacher["bias"])
    assert not own.exists() or not any(own.rglob("*.npy"))
    private = teacher["private"] / "models" / NOTOP
    assert got["unreadable"] == (
        f"{NOTOP} cannot be read by this user (permission denied): ask whoever installed it to "
        f"make it readable to all (chmod a+r {private}, and a+x on its folders): showing "
        f"randomly initialised filters")


def test_every_file_and_folder_the_teacher_wrote_follows_the_umask(teacher):
    home = teacher["home"]
    written = [p for p in home.rglob("*") if p.name != TOP]  # the top file was linked here
    assert any(p.suffix == ".npy" for p in written) and any(p.suffix == ".pattern"
                                                            for p in written)
    modes = {str(p.relative_to(home)): oct(p.stat().st_mode & 0o777) for p in written}
    assert modes == {name: "0o755" if (home / name).is_dir() else "0o644" for name in modes}


def _dockerfile_env() -> dict[str, str]:
    """The single-user image's ENV settings."""
    text = (ROOT / "deploy" / "kubernetes" / "Dockerfile").read_text()
    block = re.search(r"^ENV (.*?)(?<!\\)\n", text, re.M | re.S).group(1)
    return dict(re.findall(r"(\w+)=(\S+)", block.replace("\\\n", " ")))


POD = textwrap.dedent("""
    import io, json, os, sys, contextlib
    from vggviz import cli
    from vggviz.by_hand.classifier import SharedClassifier
    from vggviz.sources.classifier_problems import NoClassifier
    from vggviz.network.patterns import ActivationPatterns
    from vggviz.ui import stem_explorer

    app = stem_explorer().app  # the explorer, as the pod's dashboard opens it
    assert app.downloads.join(120)
    app.chosen_map.slider.value = 5  # a click on map 5
    view = app.patterns
    note_before = view.keep_note.value
    view._find_one()
    assert view.join(300)
    try:
        SharedClassifier.for_extractor(app.fx)
        classifier = None
    except NoClassifier as exc:
        classifier = str(exc)
    found = ActivationPatterns(app.fx).attribute_all(None, "stem", [7], settings=None)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["patterns", "--weights", "imagenet", "--channels", "1,2",
                         "--steps", "2", "--out", sys.argv[1]])
    print(json.dumps({
        "weights": app.fx.weights, "status": app.status.text, "note_before": note_before,
        "shown": view.pattern_image.layout.display is None, "note": view.keep_note.value,
        "classifier": classifier, "not_kept": found[0].not_kept, "cli": code,
        "cli_out": out.getvalue(), "pngs": sorted(os.listdir(sys.argv[1]))}))
""")


@pytest.fixture(scope="module")
def pod_home(place, teacher):
    """A Keras home as the single-user image has it: root's, holding the weights (and the
    classifier's file), which the pod's user cannot write."""
    home = place / "pod-keras"
    (home / "models").mkdir(parents=True)
    for name in (NOTOP, TOP):
        os.link(teacher["home"] / "models" / name, home / "models" / name)
    os.chmod(home, 0o755)
    return home


def test_a_pod_without_a_writable_cache_draws_and_says_why_nothing_is_kept(student, pod_home,
                                                                          place):
    got = student.python(POD, {"KERAS_HOME": str(pod_home)}, str(student.home / "pngs"))
    assert got["weights"] == "imagenet" and "Error" not in got["status"]
    assert got["shown"]  # the pattern found is shown, though it cannot be kept
    why = (f"vggviz's cache cannot be written here: {pod_home} cannot be written by this user "
           f"(permission denied); set VGGVIZ_CACHE to a folder this user can write")
    notes = [html.unescape(got["note_before"]), html.unescape(got["note"])]
    assert why in notes[0] and why in notes[1] and "shown, but not kept" in notes[1]
    assert got["classifier"].startswith(f"the classifier's arrays cannot be extracted: {why}")
    assert got["not_kept"].startswith(why)
    assert got["cli"] == 0, got["cli_out"]
    assert got["pngs"] == ["stem_001.png", "stem_002.png", "stem_patterns.png"]
    assert f"not cached: {why}" in got["cli_out"]
    assert not (pod_home / "vggviz").exists()


def test_the_images_settings_give_the_pod_a_writable_cache_beside_the_read_only_one(
        student, pod_home, place):
    env = _dockerfile_env()
    writable, read_only = env["VGGVIZ_CACHE"].split(":")
    assert read_only == f"{env['KERAS_HOME']}/vggviz" and not writable.startswith(
        env["KERAS_HOME"])
    pod_cache = place / "pod-tmp" / Path(writable).name  # the image's /tmp/… in this test
    (place / "pod-tmp").mkdir(mode=0o1777)
    os.chmod(place / "pod-tmp", 0o1777)
    cache = f"{pod_cache}:{pod_home}/vggviz"
    got = student.python(POD, {"KERAS_HOME": str(pod_home), "VGGVIZ_CACHE": cache},
                         str(student.home / "pngs-2"))
    assert got["weights"] == "imagenet" and "Error" not in got["status"]
    assert got["shown"] and got["note_before"] == "" and got["note"] == ""
    assert got["classifier"] is None and got["not_kept"] is None
    assert got["cli"] == 0 and "not cached" not in got["cli_out"]
    assert len(list(pod_cache.rglob("*.pattern"))) == 4  # maps 5 and 7, then 1 and 2
    assert len(list(pod_cache.rglob("*.npy"))) == 6
