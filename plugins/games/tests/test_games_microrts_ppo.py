"""zoo-games, microRTS by PPO: GAE as written by hand, a round of rollouts whose log-probabilities the training
forward pass reproduces (ratios start at 1), PPO on that round learns (the value loss falls, actions with a
positive advantage become likelier than those with a negative one), the clipped objective raises a rewarded
action on a one-cell bandit, and bad settings are one line."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from zoo import ZooError
from zoo_games import microrts_env as env
from zoo_games.microrts_data import targets
from zoo_games.microrts_net import GridNet, log_prob, sample, split_logits
from zoo_games.microrts_rollouts import advantages, microrts_rollouts, rollouts
from zoo_games.tasks.microrts_ppo import freeze_norms, ppo_loss

MAP = "basesWorkers8x8"


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_gae_is_the_discounted_sum_of_td_errors():
    rewards, values = np.array([0.0, 0.5, 1.0]), np.array([0.2, 0.4, 0.6])
    gamma, lam, last = 0.9, 0.8, 0.3
    deltas = [0.0 + gamma * 0.4 - 0.2, 0.5 + gamma * 0.6 - 0.4, 1.0 + gamma * last - 0.6]
    expected = [sum((gamma * lam) ** (k - t) * deltas[k] for k in range(t, 3)) for t in range(3)]
    assert np.allclose(advantages(rewards, values, last, gamma, lam), expected)
    # lam = 1 and gamma = 1: the advantage is the rest of the return minus the value
    assert np.allclose(advantages(rewards, values, 0.0, 1.0, 1.0), [1.5 - 0.2, 1.5 - 0.4, 1.0 - 0.6])


def test_a_round_of_rollouts_is_reproduced_by_training_and_ppo_learns_from_it():
    torch.manual_seed(0)
    net = GridNet(channels=8, blocks=1, value=True).eval()
    with torch.no_grad():
        x, y, figures = rollouts(net, "cpu", ["passive", "randombiased"], [0, 1], MAP, 120, 0.99, 0.95, 10.0,
                                 torch.Generator().manual_seed(0))
    n = len(y["logp"])
    assert n == figures["decisions"] > 20 and x["obs"].shape == (n, env.NUM_PLANES, 8, 8)
    acting = y["actions"][..., 0] >= 0
    assert (acting == x["ready"]).all()  # every idle unit acted, nothing else did
    # the training forward pass (batch norm frozen) gives the probabilities the games were played with
    net.train()
    freeze_norms(net)
    logits, value = net(x["obs"], None, x["masks"], value=True)
    assert torch.allclose(log_prob(logits, y["actions"]), y["logp"], atol=1e-4)
    assert torch.allclose(value, y["value"], atol=1e-5)
    assert torch.allclose(y["ret"], y["adv"] + y["value"])
    # PPO steps on the round (shaped rewards times 10, so that returns differ within 120 cycles): the value loss
    # falls and actions with a positive advantage become likelier than those with a negative one
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    first = None
    for _ in range(25):
        logits, value = net(x["obs"], None, x["masks"], value=True)
        loss, parts = ppo_loss(logits, value, y, 0.2, 0.5, 0.0)
        first = float(parts["value"].detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        logits, value = net(x["obs"], None, x["masks"], value=True)
        _, parts = ppo_loss(logits, value, y, 0.2, 0.5, 0.0)
        change = log_prob(logits, y["actions"]) - y["logp"]
    assert float(parts["value"]) < 0.9 * first, (float(parts["value"]), first)
    up, down = change[y["adv"] > 0].mean(), change[y["adv"] < 0].mean()
    assert up > down + 0.05, (float(up), float(down))


def test_the_clipped_objective_raises_a_rewarded_action():
    """A one-cell bandit: a unit that may noop or move; moving earns advantage +1, waiting -1. Rounds of sampled
    actions and PPO steps raise the probability of moving from about a half to most of it."""
    torch.manual_seed(0)
    net = GridNet(channels=8, blocks=1, value=True)
    obs = torch.zeros(32, env.NUM_PLANES, 4, 4, dtype=torch.uint8)
    obs[:, 0] = 1
    ready = torch.zeros(32, 4, 4, dtype=torch.bool)
    ready[:, 1, 1] = True
    masks = torch.zeros(32, 4, 4, env.NUM_CHOICES, dtype=torch.bool)
    masks[:, 1, 1, :2] = True  # noop or move
    masks[:, 1, 1, env.OFFSETS[1]:env.OFFSETS[2]] = True  # any direction
    for p in (2, 3, 4, 5, 6):  # the other components have a valid choice too, as microRTS's masks give
        masks[:, 1, 1, env.OFFSETS[p]] = True
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    generator = torch.Generator().manual_seed(0)

    def p_move():
        net.eval()
        with torch.no_grad():
            return float(torch.softmax(split_logits(net(obs, None, masks))[0][:, 1, 1], -1)[:, 1].mean())

    before = p_move()
    for _ in range(5):
        net.eval()
        with torch.no_grad():
            logits, value = net(obs, None, masks, value=True)
            actions = torch.from_numpy(targets(sample(logits, generator).numpy(), ready.numpy()))
            y = {"actions": actions, "logp": log_prob(logits, actions), "value": value,
                 "adv": (actions[:, 1, 1, 0] == 1).float() * 2 - 1}
            y["ret"] = y["adv"]
        net.train()
        freeze_norms(net)
        for _ in range(4):
            logits, value = net(obs, None, masks, value=True)
            loss, _ = ppo_loss(logits, value, y, 0.2, 0.5, 0.0)
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert 0.3 < before < 0.7 and p_move() > 0.8, (before, p_move())


@pytest.mark.parametrize("sets, message", [({"gamma": 1.5}, "data.gamma"), ({"games": 0}, "data.games"),
                                           ({"opponents": "stockfish"}, "not a microRTS bot"),
                                           ({"shaping": -1.0}, "data.shaping"), ({"map": "nowhere8x8"}, "not a microRTS map")])
def test_bad_settings_are_one_line(sets, message):
    with pytest.raises(ZooError, match=message) as err:
        microrts_rollouts(**sets)
    assert "\n" not in str(err.value)
