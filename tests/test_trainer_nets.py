"""Networks of the real architectures: the reference's parameter counts, shapes, init, registry errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trainer.config import ConfigError, TrainConfig, preset
from trainer.losses import GANLoss
from trainer.nets import build_discriminator, build_generator, count_parameters
from trainer.nets.norm import batch_stats_for_inference

torch.set_num_threads(1)


def test_default_pix2pix_nets_have_the_reference_parameter_counts():
    cfg = TrainConfig()  # unet_256 + 70×70 PatchGAN, ngf/ndf 64, batch norm
    assert count_parameters(build_generator(cfg)) == 54_413_955  # the reference prints 54.414 M
    assert count_parameters(build_discriminator(cfg, 6)) == 2_768_705  # 2.769 M
    assert count_parameters(build_generator(preset("cyclegan"))) == 11_378_179  # resnet_9blocks: 11.378 M
    assert count_parameters(build_discriminator(preset("cyclegan"), 3)) == 2_764_737  # instance norm: 2.765 M


@pytest.mark.parametrize("name,size,patch", [("pix2pix-fast-cpu", 128, 14), ("cyclegan-fast-cpu", 64, 6),
                                             ("unit-light", 64, 6), ("ugatit-light", 64, None)])
def test_presets_build_and_keep_the_image_size(name, size, patch):
    cfg = preset(name, ngf=8, ndf=8)
    g = build_generator(cfg)
    x = torch.randn(1, 3, size, size)
    assert g(x).shape == x.shape
    assert g(x).abs().max() <= 1.0  # tanh head
    if patch:
        d = build_discriminator(cfg, 3 if cfg.model != "pix2pix" else 6)
        assert d(torch.randn(1, d.model[0].in_channels, size, size)).shape == (1, 1, patch, patch)


def test_unet_depth_and_width_are_configurable():
    shallow = build_generator(TrainConfig(net_g="unet", unet_downs=4, ngf=8, crop_size=32, load_size=32))
    deep = build_generator(TrainConfig(net_g="unet", unet_downs=5, ngf=8, crop_size=32, load_size=32))
    wide = build_generator(TrainConfig(net_g="unet", unet_downs=5, ngf=16, crop_size=32, load_size=32))
    assert count_parameters(shallow) < count_parameters(deep) < count_parameters(wide)
    with pytest.raises(ConfigError, match=r"multiple of 2\^8"):
        TrainConfig(net_g="unet_256", crop_size=96, load_size=96)


def test_init_is_normal_002_and_biases_zero():
    torch.manual_seed(0)
    g = build_generator(TrainConfig(ngf=16, net_g="unet", unet_downs=5, crop_size=32, load_size=32))
    conv = g.downs[2][0]
    assert abs(conv.weight.std().item() - 0.02) < 0.002
    bn = g.downs[2][1]
    assert abs(bn.weight.mean().item() - 1.0) < 0.01 and bn.bias.abs().max() == 0
    assert g.last.bias.abs().max() == 0


def test_unknown_names_fail_listing_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown generator 'unet_512'; known: .*resnet_9blocks.*unet_256"):
        build_generator(TrainConfig(net_g="unet_512"))
    with pytest.raises(ConfigError, match=r"unknown preset 'nope'; known presets: .*pix2pix-fast-cpu"):
        preset("nope")
    with pytest.raises(ConfigError, match=r"model must be one of"):
        TrainConfig(model="munit")


def test_config_round_trips_through_json_and_refuses_unknown_fields():
    cfg = preset("pix2pix-fast-cpu", seed=3)
    assert TrainConfig.from_json(cfg.to_json()) == cfg
    with pytest.raises(ConfigError, match=r"unknown config field\(s\): colour"):
        TrainConfig.from_json({**cfg.to_json(), "colour": 1})
    with pytest.raises(ConfigError, match=r"load_size"):
        TrainConfig(load_size=100, crop_size=128)
    assert preset("pix2pix-fast-cpu").ngf == 32 and preset("pix2pix-fast-cpu").crop_size == 128


def test_batch_stat_norm_equals_train_mode_batch_norm_without_touching_running_stats():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    nn.init.normal_(net[1].weight, 1, 0.3)
    x = torch.randn(1, 3, 9, 9)
    before = net[1].running_mean.clone()
    with torch.no_grad():
        expected = net.train()(x)
    net[1].running_mean.copy_(before)
    frozen = batch_stats_for_inference(net).eval()
    assert torch.allclose(frozen(x), expected, atol=1e-5)
    assert torch.equal(frozen(x), frozen(x))


@pytest.mark.parametrize("mode", ["vanilla", "lsgan", "hinge"])
def test_gan_losses_prefer_the_right_side(mode):
    loss = GANLoss(mode)
    high, low = torch.full((1, 1, 4, 4), 0.9), torch.full((1, 1, 4, 4), 0.1)
    assert loss(high, True) < loss(low, True)
    assert loss(low, False) < loss(high, False)
    assert loss(high, True, for_discriminator=False) < loss(low, True, for_discriminator=False)


def test_in_place_unet_activations_give_the_same_outputs_and_gradients():
    torch.manual_seed(0)
    cfg = TrainConfig(net_g="unet", unet_downs=6, ngf=8, crop_size=64, load_size=64, dropout=False)
    g = build_generator(cfg)
    x = torch.randn(2, 3, 64, 64, requires_grad=True)
    g(x).square().sum().backward()
    in_place = (x.grad.clone(), g.first.weight.grad.clone())
    g.lrelu.inplace = g.relu.inplace = False
    x.grad = None
    g.zero_grad()
    g(x).square().sum().backward()
    assert torch.allclose(in_place[0], x.grad, atol=1e-6)
    assert torch.allclose(in_place[1], g.first.weight.grad, atol=1e-6)
