"""The plain-torch residual U-Net is MONAI's: same parameters from the same seed, same outputs, checkpoints that
load into either; and building the flagship's network imports no MONAI (a cold `zoo predict` would pay 4.5 s)."""
import pytest
import torch

from zoo.testing import imported_after
from zoo_medical.residual_unet import UNet

SHAPES = [((16, 32, 64, 128), 1), ((4, 8, 16), 2), ((4, 8), 0), ((8, 16, 32), 0)]


@pytest.mark.parametrize("channels,units", SHAPES, ids=[f"{c}-r{u}" for c, u in SHAPES])
def test_it_is_monai_unet_weight_for_weight_and_output_for_output(channels, units):
    from monai.networks.nets import UNet as MonaiUNet

    strides = (2,) * (len(channels) - 1)
    torch.manual_seed(3)
    ours = UNet(1, 5, channels, strides, num_res_units=units)
    torch.manual_seed(3)
    theirs = MonaiUNet(spatial_dims=2, in_channels=1, out_channels=5, channels=channels, strides=strides,
                       num_res_units=units)
    mine, monai = ours.state_dict(), theirs.state_dict()
    assert list(mine) == list(monai)  # names and order: a checkpoint of one loads into the other
    assert all(torch.equal(mine[k], monai[k]) for k in mine)  # one seed, one set of weights
    x = torch.randn(2, 1, 32, 32)
    ours.train(), theirs.train()
    assert torch.allclose(ours(x), theirs(x), atol=1e-6)
    theirs.load_state_dict({k: v + 0.01 for k, v in monai.items()})
    ours.load_state_dict(theirs.state_dict())
    ours.eval(), theirs.eval()
    assert torch.allclose(ours(x), theirs(x), atol=1e-6)


def test_building_the_flagships_network_imports_no_monai():
    code = ("import zoo_medical.tasks, zoo_medical.data, zoo_medical.familiarity, zoo_medical.models as m\n"
            "m.anomaly_unet(); m.healing_unet()\n"
            "import zoo_medical.unets as u; u.segmentation_unet()")
    assert imported_after(code, ("monai",)) == []
