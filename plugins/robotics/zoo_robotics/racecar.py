"""pybullet's racecar on a lane of simple shapes: the world, a scripted driver that reads the true pose, and drives.

A track is a smooth closed loop (radius 2.5-3.5 m with random 2nd and 3rd harmonics, so it bends both ways in
different amounts), drawn as flat boxes on a green floor: a dark 1 m wide road with white edge lines. Each
track is fixed by its seed. The car (pybullet_data's MIT racecar, 0.33 m wheelbase) drives at a constant wheel
speed; the only control is the steering angle, at 10 Hz. Its camera looks ahead and down from 0.3 m and gives a
48 x 64 image, kept in grey (what the network reads; a buffer of colour frames would triple the checkpoints). The scripted driver steers by pure pursuit: it finds where the car is along the centre
line and aims at the point 0.8 m further on.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from zoo.imitation import SEED_BASE, Imitation  # track and start seeds of the splits
from .scenes import connect, quiet

HALF_WIDTH = 0.5  # m from the centre line to the road's edge
MAX_STEER = 0.5  # rad, the steering hinges' reach used
WHEEL_SPEED = 25.0  # rad/s at the wheels: about 1.3 m/s
SUBSTEPS = 24  # physics steps (240 Hz) per control step (10 Hz)
IMAGE = (48, 64)  # camera height, width
LOOK_AHEAD = 0.8  # m, the scripted driver's aim along the centre line
WHEELS, STEERING = (2, 3, 5, 7), (4, 6)

Steerer = Callable[[np.ndarray], float]  # one camera image (1 x H x W, uint8) -> steering angle (rad)


def grey(rgb: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 -> 1 x H x W uint8 (ITU-R 601 luma)."""
    return np.round(rgb[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.uint8)[None]


class Track:
    """A closed centre line, resampled every ~5 cm, with where-am-I lookups."""

    def __init__(self, seed: int, points: int = 400):
        rng = np.random.default_rng(seed)
        radius = rng.uniform(2.5, 3.5)
        a2, a3 = rng.uniform(0.05, 0.18), rng.uniform(0.0, 0.08)
        p2, p3 = rng.uniform(0, 2 * math.pi, 2)
        theta = np.linspace(0, 2 * math.pi, 4000, endpoint=False)
        r = radius * (1 + a2 * np.cos(2 * theta + p2) + a3 * np.cos(3 * theta + p3))
        dense = np.stack([r * np.cos(theta), r * np.sin(theta)], 1)
        step = np.linalg.norm(np.roll(dense, -1, 0) - dense, axis=1)
        along = np.concatenate([[0], np.cumsum(step)])
        self.length = float(along[-1])
        at = np.linspace(0, self.length, points, endpoint=False)
        closed = np.vstack([dense, dense[:1]])
        self.centre = np.stack([np.interp(at, along, closed[:, k]) for k in range(2)], 1)
        self.along = at
        ahead = np.roll(self.centre, -1, 0) - self.centre
        self.heading = np.arctan2(ahead[:, 1], ahead[:, 0])

    def locate(self, xy: np.ndarray) -> tuple[float, float, int]:
        """Distance along the line (m), signed offset from it (m, left positive) and the nearest point's index."""
        i = int(np.argmin(((self.centre - xy) ** 2).sum(1)))
        h = self.heading[i]
        d = xy - self.centre[i]
        along = self.along[i] + d[0] * math.cos(h) + d[1] * math.sin(h)
        return along, -d[0] * math.sin(h) + d[1] * math.cos(h), i

    def point_at(self, along: float) -> np.ndarray:
        s = along % self.length
        return np.array([np.interp(s, np.append(self.along, self.length), np.append(self.centre[:, k],
                                                                                     self.centre[0, k]))
                         for k in range(2)])


def scripted_steer(track: Track, x: float, y: float, yaw: float) -> float:
    """Pure pursuit on the centre line from the true pose."""
    along, _, _ = track.locate(np.array([x, y]))
    goal = track.point_at(along + LOOK_AHEAD)
    alpha = math.atan2(goal[1] - y, goal[0] - x) - yaw
    alpha = math.atan2(math.sin(alpha), math.cos(alpha))
    wheelbase = 0.325
    return float(np.clip(math.atan2(2 * wheelbase * math.sin(alpha), LOOK_AHEAD), -MAX_STEER, MAX_STEER))


class Drive:
    """One track and the car, in two pybullet worlds: the car on a bare floor (physics), and the road's boxes
    (what the camera sees). Hundreds of boxes in the physics world slow every step tenfold, though none collide."""

    def __init__(self, track_seed: int):
        self.track = Track(track_seed)
        self.p, self.scene = connect()
        p = self.p
        with quiet():
            floor = p.loadURDF("plane.urdf", physicsClientId=self.scene)
        p.changeVisualShape(floor, -1, rgbaColor=[0.25, 0.45, 0.2, 1], textureUniqueId=-1, physicsClientId=self.scene)
        self._draw_road()
        _, self.client = connect()
        c = self.client
        with quiet():
            p.loadURDF("plane.urdf", physicsClientId=c)
            self.car = p.loadURDF("racecar/racecar.urdf", [0, 0, 0.05], physicsClientId=c)
        for wheel in WHEELS:
            p.setJointMotorControl2(self.car, wheel, p.VELOCITY_CONTROL, targetVelocity=0, force=0, physicsClientId=c)
        self.projection = p.computeProjectionMatrixFOV(80, IMAGE[1] / IMAGE[0], 0.05, 15)

    def _draw_road(self) -> None:
        p, c, t = self.p, self.scene, self.track
        seg = t.length / len(t.centre) * 1.15  # overlapping, so no gaps on the bends
        road = p.createVisualShape(p.GEOM_BOX, halfExtents=[seg, HALF_WIDTH, 0.001],
                                   rgbaColor=[0.18, 0.18, 0.2, 1], physicsClientId=c)
        line = p.createVisualShape(p.GEOM_BOX, halfExtents=[seg / 2, 0.025, 0.0015], rgbaColor=[0.95, 0.95, 0.95, 1],
                                   physicsClientId=c)
        for (x, y), h in zip(t.centre[::2], t.heading[::2]):  # the road: every other point, twice as long
            p.createMultiBody(0, -1, road, [x, y, 0.001], p.getQuaternionFromEuler([0, 0, h]), physicsClientId=c)
        for (x, y), h in zip(t.centre, t.heading):
            q = p.getQuaternionFromEuler([0, 0, h])
            for side in (-1, 1):
                off = side * (HALF_WIDTH - 0.025)
                p.createMultiBody(0, -1, line, [x - off * math.sin(h), y + off * math.cos(h), 0.0015], q,
                                  physicsClientId=c)

    def reset(self, along: float, offset: float, heading_error: float) -> None:
        p, c, t = self.p, self.client, self.track
        base = t.point_at(along)
        i = int(np.argmin(((t.centre - base) ** 2).sum(1)))
        h = t.heading[i]
        xy = base + offset * np.array([-math.sin(h), math.cos(h)])
        p.resetBasePositionAndOrientation(self.car, [xy[0], xy[1], 0.05],
                                          p.getQuaternionFromEuler([0, 0, h + heading_error]), physicsClientId=c)
        p.resetBaseVelocity(self.car, [0, 0, 0], [0, 0, 0], physicsClientId=c)
        for j in range(p.getNumJoints(self.car, physicsClientId=c)):
            p.resetJointState(self.car, j, 0, 0, physicsClientId=c)
        self.start = along
        self.travelled, self._last = 0.0, t.locate(xy)[0]

    def pose(self) -> tuple[float, float, float]:
        pos, orn = self.p.getBasePositionAndOrientation(self.car, physicsClientId=self.client)
        return pos[0], pos[1], self.p.getEulerFromQuaternion(orn)[2]

    def image(self) -> np.ndarray:
        """What the car's camera sees: 1 x 48 x 64, grey, uint8."""
        p, c = self.p, self.scene
        x, y, yaw = self.pose()
        forward = np.array([math.cos(yaw), math.sin(yaw), 0.0])
        eye = np.array([x, y, 0.5]) + 0.1 * forward
        view = p.computeViewMatrix(eye.tolist(), (eye + forward - [0, 0, 0.6]).tolist(), [0, 0, 1],
                                   physicsClientId=c)
        _, _, rgba, _, _ = p.getCameraImage(IMAGE[1], IMAGE[0], view, self.projection, renderer=p.ER_TINY_RENDERER,
                                            physicsClientId=c)
        return grey(np.asarray(rgba, np.uint8).reshape(*IMAGE, 4)[..., :3])

    def step(self, steer: float) -> None:
        p, c = self.p, self.client
        steer = float(np.clip(steer, -MAX_STEER, MAX_STEER))
        for hinge in STEERING:
            p.setJointMotorControl2(self.car, hinge, p.POSITION_CONTROL, targetPosition=steer, physicsClientId=c)
        for wheel in WHEELS:
            p.setJointMotorControl2(self.car, wheel, p.VELOCITY_CONTROL, targetVelocity=WHEEL_SPEED, force=10,
                                    physicsClientId=c)
        for _ in range(SUBSTEPS):
            p.stepSimulation(physicsClientId=c)
        x, y, _ = self.pose()
        along = self.track.locate(np.array([x, y]))[0]
        moved = (along - self._last + self.track.length / 2) % self.track.length - self.track.length / 2
        self.travelled += moved
        self._last = along

    def offset(self) -> float:
        x, y, _ = self.pose()
        return self.track.locate(np.array([x, y]))[1]

    def expert(self) -> float:
        return scripted_steer(self.track, *self.pose())

    def close(self) -> None:
        self.p.disconnect(physicsClientId=self.client)
        self.p.disconnect(physicsClientId=self.scene)


@dataclass
class Run:
    """One drive: laps completed (distance along the centre line / lap length), laps before the first
    intervention, interventions, mean |offset| (cm); with `record`, every image seen and the driver's label."""

    laps: float
    clean_laps: float
    interventions: int
    centre_cm: float
    images: list
    labels: list


def drive(track_seed: int, start_seed: int, steer: Steerer | None, steps: int = 200, record: bool = False,
          noise: float = 0.0) -> Run:
    """Drive from a random start: `steer` (None: the scripted driver) chooses; when the car's centre leaves the
    road (more than HALF_WIDTH from the centre line) the scripted driver takes over until it is back within 15 cm,
    and that counts as an intervention. With `noise`, Gaussian noise is added to what is done (not to labels)."""
    rng = np.random.default_rng(start_seed)
    world = Drive(track_seed)
    try:
        world.reset(rng.uniform(0, world.track.length), rng.uniform(-0.2, 0.2), rng.uniform(-0.25, 0.25))
        images, labels, offsets = [], [], []
        interventions, helping, clean = 0, False, None
        for _ in range(steps):
            off = world.offset()
            offsets.append(abs(off))
            if not helping and abs(off) > HALF_WIDTH:
                interventions, helping = interventions + 1, True
                if clean is None:
                    clean = world.travelled / world.track.length
            elif helping and abs(off) < 0.15:
                helping = False
            label = world.expert()
            picture = world.image() if (record or (steer is not None and not helping)) else None
            if record:
                images.append(picture)
                labels.append(label)
            action = label if (steer is None or helping) else steer(picture)
            world.step(action + (rng.normal(0, noise) if noise else 0.0))
        laps = world.travelled / world.track.length
        return Run(laps, laps if clean is None else clean, interventions, float(np.mean(offsets)) * 100, images, labels)
    finally:
        world.close()


def network_steerer(model, device="cpu") -> Steerer:
    def steer(image: np.ndarray) -> float:
        with torch.no_grad():
            return float(model(torch.from_numpy(image)[None].to(device)).float().reshape(-1)[0])
    return steer


class Drives(Imitation):
    """Drives on new tracks for behaviour cloning and DAgger (zoo.imitation): each episode a track and
    a start of its own seed, `steps` control steps long, every frame labelled by the scripted driver."""

    def __init__(self, *args, steps: int = 150, **kwargs):
        super().__init__(*args, **kwargs)
        self.steps = steps

    def record(self, model, device, seeds):
        steer = network_steerer(model, device) if model is not None else None
        runs = [drive(s, s, steer, self.steps, record=True, noise=0.0 if model is not None else self.noise)
                for s in seeds]
        images = torch.from_numpy(np.stack([im for r in runs for im in r.images]))
        labels = torch.tensor([v for r in runs for v in r.labels], dtype=torch.float32)
        return images, labels


class LabelledFrames(Dataset):
    """Frames of the scripted driver (with noise) on a split's tracks, with its labels: the steering error's data.
    Each drive is run when one of its frames is first asked for, so a quick check pays for one drive only."""

    def __init__(self, split: str, drives: int, steps: int, noise: float):
        self.split, self.drives, self.steps, self.noise = split, drives, steps, noise
        self.done: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def __len__(self) -> int:
        return self.drives * self.steps

    def drive(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        if k not in self.done:
            seed = SEED_BASE[self.split] + k
            run = drive(seed, seed, None, self.steps, record=True, noise=self.noise)
            self.done[k] = torch.from_numpy(np.stack(run.images)), torch.tensor(run.labels, dtype=torch.float32)
        return self.done[k]

    def __getitem__(self, i: int):
        images, labels = self.drive(i // self.steps)
        return images[i % self.steps], labels[i % self.steps]


class Mirror:
    """Training batches mirrored left-right at random, steering negated with them: a left bend becomes a right."""

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flip = torch.rand(len(x), device=x.device) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        return x, torch.where(flip, -y, y)
