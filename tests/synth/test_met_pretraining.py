"""The pretraining photos of the synthetic start: sizes, labels, held-out photos, determinism."""

import numpy as np
import pytest

from artrec.synth.met_pretraining import object_photos


def test_every_object_has_its_photos_and_every_val_every_th_a_held_out_one():
    photos = object_photos(7, 3, 48, seed=1, val_every=3, workers=1)
    assert photos.n_objects == 7 and len(photos.train_images) == 21
    assert photos.train_labels.tolist() == [i for i in range(7) for _ in range(3)]
    assert photos.val_labels.tolist() == [0, 3, 6] and len(photos.val_images) == 3
    for image in photos.train_images + photos.val_images:
        assert image.mode == "RGB" and max(image.size) <= 48


def test_the_same_arguments_draw_the_same_photos_in_any_number_of_processes():
    one = object_photos(4, 2, 40, seed=3, val_every=2, workers=1)
    two = object_photos(4, 2, 40, seed=3, val_every=2, workers=2)
    other_seed = object_photos(4, 2, 40, seed=4, val_every=2, workers=1)
    for a, b in zip(
        one.train_images + one.val_images, two.train_images + two.val_images, strict=True
    ):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(
        np.asarray(one.train_images[0]), np.asarray(other_seed.train_images[0])
    )


@pytest.mark.parametrize("args", [(1, 2, 40), (3, 0, 40), (3, 2, 8)])
def test_impossible_sizes_are_refused(args):
    with pytest.raises(ValueError, match="n_objects"):
        object_photos(*args, workers=1)
