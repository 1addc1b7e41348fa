"""Reading radiographs and users' datasets: DICOM display pipeline, PNG depths, layouts, and bad input."""
from __future__ import annotations

import csv
import sys

import numpy as np
import pytest
from PIL import Image

from zoo import ZooError
from zoo.testing import require


def _dicom(path, pixels: np.ndarray, photometric="MONOCHROME2", slope=1.0, intercept=0.0, window=None,
           with_pixels=True):
    """A minimal valid DICOM file (explicit VR little endian) holding `pixels` as unsigned 16-bit."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID, "DX"
    if with_pixels:
        ds.Rows, ds.Columns = pixels.shape
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
        if window:
            ds.WindowCenter, ds.WindowWidth = window
        ds.PixelData = pixels.astype(np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


GRADIENT = (np.arange(64)[None, :].repeat(32, 0) * 1000).astype(np.uint16)  # 0..63000 left to right


def test_dicom_monochrome1_is_inverted(tmp_path):
    from zoo_medical.images import read_radiograph

    plain = read_radiograph(_dicom(tmp_path / "m2.dcm", GRADIENT))
    inverted = read_radiograph(_dicom(tmp_path / "m1.dcm", GRADIENT, photometric="MONOCHROME1"))
    assert plain.shape == (32, 64) and plain[0, 0] == 0 and plain[0, -1] == 1  # 16-bit range kept, not clipped
    np.testing.assert_allclose(inverted, 1 - plain, atol=1e-6)


def test_dicom_window_and_rescale_are_applied(tmp_path):
    from zoo_medical.images import read_radiograph

    # stored 0..63000, slope 0.5 / intercept -1000 -> -1000..30500; window 5000 +- 2500 keeps 2500..7500 only
    image = read_radiograph(_dicom(tmp_path / "w.dcm", GRADIENT, slope=0.5, intercept=-1000, window=(5000, 5000)))
    values = GRADIENT[0] * 0.5 - 1000
    assert np.all(image[0, values < 2400] == 0) and np.all(image[0, values > 7600] == 1)
    inside = (values > 2600) & (values < 7400)
    assert np.all(np.diff(image[0, inside]) > 0)  # the window's ramp, stretched over [0, 1]


def test_real_dicom_radiographs_read():
    from pydicom.data import get_testdata_file

    from zoo_medical.images import load, read_radiograph

    chest = get_testdata_file("RG1_UNCI.dcm")
    require(chest is not None, "pydicom-data is not installed (pip install pydicom-data)")
    image = read_radiograph(chest)
    assert image.shape == (1955, 1841) and image.min() == 0 and image.max() == 1
    # MONOCHROME1 inverted: the air beside the patient (image corners) is dark, the spine (centre) bright
    assert image[:100, :100].mean() < 0.3 < image[900:1100, 880:960].mean()
    x = load(get_testdata_file("RG3_UNCI.dcm"), 64)
    assert x.shape == (1, 64, 64) and 0 <= float(x.min()) and float(x.max()) <= 1


def test_not_dicom_and_no_pixel_data_are_named(tmp_path):
    from zoo_medical.images import check_readable, read_radiograph

    fake = tmp_path / "scan.dcm"
    fake.write_text("this is not a DICOM file")
    with pytest.raises(ZooError, match="scan.dcm: not a DICOM file"):
        read_radiograph(fake)
    with pytest.raises(ZooError, match="scan.dcm: not a DICOM file"):
        check_readable(fake)
    empty = _dicom(tmp_path / "report.dcm", GRADIENT, with_pixels=False)
    with pytest.raises(ZooError, match="report.dcm: DICOM file holds no pixel data"):
        read_radiograph(empty)
    with pytest.raises(ZooError, match="report.dcm: DICOM file holds no pixel data"):
        check_readable(empty)


def test_rgb_and_16bit_png_are_read(tmp_path):
    from zoo_medical.images import read_radiograph

    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[:, 15:] = 200
    Image.fromarray(rgb, "RGB").save(tmp_path / "rgb.png")
    image = read_radiograph(tmp_path / "rgb.png")
    assert image.shape == (20, 30) and image[0, 0] == 0 and abs(image[0, -1] - 200 / 255) < 1e-6
    deep = (np.arange(30)[None].repeat(20, 0) * 2000).astype(np.uint16)  # beyond 8 bits
    Image.fromarray(deep).save(tmp_path / "deep.png")
    image = read_radiograph(tmp_path / "deep.png")
    assert image[0, 0] == 0 and image[0, -1] == 1 and np.all(np.diff(image[0]) > 0)  # all 30 levels survive


def test_colour_pictures_and_other_modalities_are_refused(tmp_path):
    from pydicom.data import get_testdata_file

    from zoo_medical.images import check_readable, read_radiograph

    film = np.tile(np.linspace(0, 1, 40, dtype=np.float32), (30, 1))
    photo = np.stack([film * 0.9 + 0.1, film * 0.8, film * 0.5], -1)  # a film photographed on a warm light box
    Image.fromarray((photo * 255).astype(np.uint8)).save(tmp_path / "photo.jpg")
    with pytest.raises(ZooError, match="photo.jpg: a colour picture"):
        read_radiograph(tmp_path / "photo.jpg")
    screenshot = get_testdata_file("SC_rgb.dcm")  # an RGB secondary capture
    require(screenshot is not None, "pydicom-data is not installed (pip install pydicom-data)")
    with pytest.raises(ZooError, match="SC_rgb.dcm: a colour picture"):
        read_radiograph(screenshot)
    for name, modality in (("CT_small.dcm", "CT"), ("MR_small.dcm", "MR")):
        for read in (read_radiograph, check_readable):
            with pytest.raises(ZooError, match=f"{name}: modality {modality} is an? .*not a projection radiograph"):
                read(get_testdata_file(name))


def _folder(root, normal=6, abnormal=4):
    for name, count in (("normal", normal), ("abnormal", abnormal)):
        (root / name).mkdir(parents=True)
        for i in range(count):
            Image.fromarray(np.full((40, 48), 40 * i % 255, np.uint8)).save(root / name / f"{i}.png")
    return root


def test_class_folders_and_empty_class(tmp_path):
    from zoo_medical.data import chest_drr

    bundle = chest_drr(str(_folder(tmp_path / "ok", 10, 10)), image_size=32)
    assert len(bundle.train) + len(bundle.valid) + len(bundle.test) == 20
    x, y = bundle.train[0]
    assert x.shape == (1, 32, 32) and int(y) in (0, 1)
    _folder(tmp_path / "bad", 5, 0)
    with pytest.raises(ZooError, match=r"abnormal: class folder holds no images"):
        chest_drr(str(tmp_path / "bad"), image_size=32)


def test_csv_layout_and_missing_file(tmp_path):
    from zoo_medical.data import chest_drr

    _folder(tmp_path / "img", 10, 10)
    rows = [("img/normal/%d.png" % i, "normal") for i in range(10)] + [("img/abnormal/%d.png" % i, "1") for i in range(10)]
    table = tmp_path / "labels.csv"
    with open(table, "w", newline="") as fh:
        csv.writer(fh).writerows([("path", "label"), *rows])
    bundle = chest_drr(str(table), image_size=32)
    labels = [int(bundle.train[i][1]) for i in range(len(bundle.train))]
    assert 0 < sum(labels) < len(labels)
    with open(table, "a", newline="") as fh:
        csv.writer(fh).writerow(("img/normal/gone.png", "0"))
    with pytest.raises(ZooError, match=r"labels.csv, line 22: .*gone.png: no such file"):
        chest_drr(str(table), image_size=32)


def test_nih_layout(tmp_path):
    from zoo_medical.data import scan

    root = tmp_path / "nih"
    (root / "images_001" / "images").mkdir(parents=True)
    findings = ["No Finding", "Nodule", "Effusion|Mass", "No Finding"]
    names = [f"0000000{i}_000.png" for i in range(4)]
    for name in names:
        Image.fromarray(np.zeros((16, 16), np.uint8)).save(root / "images_001" / "images" / name)
    with open(root / "Data_Entry_2017.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Image Index", "Finding Labels", "Follow-up #", "Patient ID"])
        w.writerows([n, f, 0, i] for i, (n, f) in enumerate(zip(names, findings)))
    (root / "test_list.txt").write_text(names[3] + "\n")
    files, labels, test, patients = scan(root)
    assert [f.name for f in files] == names and labels == [0, 1, 1, 0] and test == {3}
    assert patients == ["0", "1", "2", "3"]
    (root / "images_001" / "images" / names[1]).unlink()
    with pytest.raises(ZooError, match=r"1 listed images are not under .*line 3: 00000001_000.png"):
        scan(root)


def test_listing_does_not_import_heavy_packages():
    import subprocess

    code = ("import sys, zoo; r = zoo.get_registry(); r.get('medical/xray-anomaly', kind='recipe'); "
            "heavy = [m for m in ('torch', 'monai', 'pydicom', 'nibabel') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_patients_films_stay_in_one_split(tmp_path):
    """NIH and users' CSVs name the patient: their films never straddle train and test."""
    root = tmp_path / "own"
    root.mkdir()
    rows = []
    for patient in range(30):
        for film in range(3):  # three films per patient, one label per patient
            name = f"p{patient}_{film}.png"
            Image.fromarray(np.full((16, 16), patient * 8, np.uint8)).save(root / name)
            rows.append([name, patient % 2, f"patient-{patient}"])
    with open(root / "labels.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([["path", "label", "patient_id"], *rows])
    from zoo_medical.data import chest_drr

    bundle = chest_drr(str(root / "labels.csv"), image_size=16)
    patients = {name: {f.name.split("_")[0] for f in getattr(bundle, name).pictures} for name in ("train", "valid", "test")}
    assert not patients["train"] & patients["test"] and not patients["train"] & patients["valid"]
    assert not patients["valid"] & patients["test"] and len(bundle.test) == 18  # 20% of 90 films, whole patients


def test_nifti_radiographs_and_volumes_are_read(tmp_path):
    import nibabel as nib

    from zoo_medical.images import load

    film = np.zeros((40, 30), np.float32)
    film[5:10, :] = 1.0  # a bright band near the patient's top (superior: the last rows of y in RAS)
    nib.save(nib.Nifti1Image(film[::-1].T.copy(), np.eye(4)), tmp_path / "film.nii.gz")
    picture = load(tmp_path / "film.nii.gz", 32)[0]
    assert picture.shape == (32, 32) and picture[:16].mean() > picture[16:].mean()  # the head is up
    volume = np.full((20, 10, 30), -1000.0, np.float32)  # air, with a dense block
    volume[5:15, :, 20:28] = 400.0
    nib.save(nib.Nifti1Image(volume, np.eye(4)), tmp_path / "ct.nii")
    projected = load(tmp_path / "ct.nii", 32)[0]
    assert projected.max() > 0.9 and projected.min() < 0.1  # the block shows as a bright region
    (tmp_path / "broken.nii.gz").write_bytes(b"not a nifti")
    with pytest.raises(ZooError, match="broken.nii.gz: unreadable NIfTI"):
        load(tmp_path / "broken.nii.gz", 32)


def png_claiming(width: int, height: int) -> bytes:
    """A PNG header for a grey image of that size and no pixel data: what a decompression bomb looks like to PIL."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) + chunk(b"IEND", b"")


def test_degenerate_and_hostile_pictures_are_one_line_errors(tmp_path):
    from zoo_medical import images

    Image.fromarray(np.zeros((1, 1), np.uint8)).save(tmp_path / "dot.png")
    (tmp_path / "bomb.png").write_bytes(png_claiming(30000, 30000))
    for name, words in (("dot.png", "too small to be a radiograph"), ("bomb.png", "not a readable image")):
        with pytest.raises(ZooError, match=words) as caught:
            images.load(tmp_path / name, 64)
        assert str(caught.value).startswith(str(tmp_path / name)) and "\n" not in str(caught.value)
