import pandas as pd

from artrec.pipelines.train.nodes import _content_digest


def test_checkpoint_identity_changes_when_the_pixels_change(tmp_path):
    # Regenerated data keeps its file names; a run must not resume a checkpoint of old pixels.
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.jpg").write_bytes(b"first pixels")
    frame = pd.DataFrame({"path": ["images/a.jpg"]})
    before = _content_digest(tmp_path, frame)
    assert _content_digest(tmp_path, frame) == before
    (tmp_path / "images" / "a.jpg").write_bytes(b"other pixels")
    assert _content_digest(tmp_path, frame) != before
