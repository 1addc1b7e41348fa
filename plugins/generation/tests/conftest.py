"""Fixtures shared by the generation plugin's tests."""
import numpy as np
import pytest
from PIL import Image

from zoo_generation.data import photos as photos_data


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Six 96 x 128 crops of real photos: 4 train, 1 valid, 1 test (a fixed user split)."""
    root = tmp_path_factory.mktemp("photos")
    names = {"train": ["rocket", "chelsea", "china", "coffee"], "valid": ["flower"], "test": ["astronaut"]}
    for split, chosen in names.items():
        (root / split).mkdir()
        for name in chosen:
            where, file, _ = photos_data.PHOTOS[name]
            array = np.asarray(Image.open(photos_data.photo_path(where, file)).convert("RGB"))
            h, w = array.shape[:2]
            Image.fromarray(array[h // 2 - 48:h // 2 + 48, w // 2 - 64:w // 2 + 64]).save(root / split / f"{name}.png")
    return root
