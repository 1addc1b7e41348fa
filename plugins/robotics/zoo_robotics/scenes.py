"""Tabletop scenes rendered with pybullet's CPU renderer: a tray, one of pybullet_data's 1,000 random objects
dropped into it and left to settle, random light and camera jitter, and looks chosen to be hard to see.

A scene is fixed by (seed, index): the same numbers give the same image on every machine. Depth is what an
RGB-D camera would report: metres along the view axis, with noise growing with distance, and no reading (0)
on many pixels of near-black or shiny surfaces, where structured-light and time-of-flight sensors fail.
"""
from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass

import numpy as np

from zoo import ZooError

DIFFICULTIES = ("easy", "camouflage", "stripes", "dark", "shiny")
HARD = DIFFICULTIES[1:]
INSTALL_HINT = "pip install pybullet (the renderer and its objects ship in the wheel)"
NEAR, FAR = 0.1, 2.0
FLOOR_Z = 0.015  # the top of the tray's floor, world metres (a ray cast down onto traybox.urdf)
INNER = 0.17  # dropped within +-0.12 m of the centre, an object must rest within this (the floor is flat to 0.19)


@dataclass
class Scene:
    rgb: np.ndarray  # H x W x 3 uint8
    depth: np.ndarray  # H x W float32 metres, 0 = no reading
    grasp: np.ndarray  # (x, y, z) metres: above the centre of mass at the object's top, a top-down grasp point
    difficulty: str
    view: np.ndarray  # 4 x 4 view matrix (world to camera), column-major as pybullet gives it
    projection: np.ndarray  # 4 x 4 projection matrix
    body: str  # the URDF dropped


def _pybullet():
    try:
        import pybullet
        import pybullet_data
    except ImportError:
        raise ZooError(f"robotics scenes need pybullet: {INSTALL_HINT}") from None
    return pybullet, pybullet_data


@contextlib.contextmanager
def quiet():
    """pybullet's C code prints to stdout on connect and load; keep it out of the user's terminal."""
    try:
        fd, saved = 1, os.dup(1)
    except OSError:
        yield
        return
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), fd)
        try:
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)


def _stripes(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    period = int(rng.integers(4, 12))
    a, b = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
    band = ((np.arange(size) // period) % 2).astype(bool)
    img = np.where(band[None, :, None] if rng.random() < 0.5 else band[:, None, None], a, b)
    return np.broadcast_to(img, (size, size, 3))


class LeftTray(Exception):
    """The object bounced out of the tray, or the simulation diverged: the scene is drawn again."""


def render_scene(seed: int, index: int, size: int = 96, urdf: str | None = None) -> Scene:
    """Scene `index` of the series `seed`; `urdf` replaces the random object (a user's mesh or robot part).
    A drop that ends outside the tray, or a simulation that diverges, is drawn again (up to 5 times)."""
    for attempt in range(5):
        try:
            return _render(np.random.default_rng([seed, index, attempt]), index, size, urdf)
        except LeftTray:
            continue
    raise ZooError(f"scene {index} of seed {seed}: the object left the tray 5 times ({urdf or 'random objects'})")


def _render(rng: np.random.Generator, index: int, size: int, urdf: str | None) -> Scene:
    difficulty = DIFFICULTIES[index % len(DIFFICULTIES)]
    p, client = connect()
    try:
        body, tray, name, grasp = settle(p, client, rng, urdf)
        _dress(p, client, rng, difficulty, body, tray)
        rgb, depth, view, projection = _photograph(p, client, rng, size, difficulty, body)
    finally:
        p.disconnect(physicsClientId=client)
    return Scene(rgb, depth, grasp, difficulty, view, projection, name)


def connect():
    """pybullet and a fresh simulation of its own (DIRECT: no window, CPU rendering), with gravity."""
    p, pybullet_data = _pybullet()
    with quiet():
        client = p.connect(p.DIRECT)
    p.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=client)
    p.setGravity(0, 0, -9.81, physicsClientId=client)
    return p, client


def settle(p, client: int, rng: np.random.Generator, urdf: str | None) -> tuple[int, int, str, np.ndarray]:
    """The tray and the object dropped into it, at rest: (object id, tray id, its URDF, the grasp point).
    Raises LeftTray when it did not come to rest on the flat floor."""
    with quiet():
        p.loadURDF("plane.urdf", physicsClientId=client)
        tray = p.loadURDF("tray/traybox.urdf", [0, 0, 0], physicsClientId=client)
    number = int(rng.integers(1000))
    name = urdf or f"random_urdfs/{number:03d}/{number:03d}.urdf"
    start = [*rng.uniform(-0.12, 0.12, 2), 0.12]
    orientation = p.getQuaternionFromEuler(rng.uniform(-math.pi, math.pi, 3).tolist())
    try:
        with quiet():
            body = p.loadURDF(name, start, orientation, globalScaling=float(rng.uniform(0.6, 0.9)),
                              physicsClientId=client)
    except p.error:
        raise ZooError(f"{name}: the URDF or its meshes failed to load") from None
    for _ in range(240):  # one simulated second: the object falls and comes to rest
        p.stepSimulation(physicsClientId=client)
    low, high = p.getAABB(body, physicsClientId=client)
    centre, _ = p.getBasePositionAndOrientation(body, physicsClientId=client)  # the centre of mass
    grasp = np.array([centre[0], centre[1], high[2]], dtype=np.float32)  # above it, at the object's top
    if not np.isfinite(grasp).all() or np.abs(grasp[:2]).max() > INNER or grasp[2] < FLOOR_Z:
        raise LeftTray(name)
    return body, tray, name, grasp


def _dress(p, client, rng, difficulty: str, body: int, tray: int) -> None:
    """Colours and textures by difficulty: what makes the object hard to tell from the tray."""
    links = range(-1, p.getNumJoints(body, physicsClientId=client))
    tray_colour = rng.uniform(0.3, 0.9, 3)
    if difficulty == "easy":
        hue = rng.permutation([rng.uniform(0.7, 1.0), rng.uniform(0.0, 0.3), rng.uniform(0.0, 0.6)])
        colour, tray_colour = hue, rng.uniform(0.45, 0.6, 3)  # saturated object, grey tray
    elif difficulty == "camouflage":
        colour = np.clip(tray_colour + rng.normal(0, 0.03, 3), 0, 1)
    elif difficulty == "stripes":
        colour = np.ones(3)
    elif difficulty == "dark":
        colour, tray_colour = rng.uniform(0.0, 0.06, 3), rng.uniform(0.05, 0.2, 3)
    else:  # shiny: a bright object whose highlights hide its shape
        colour = rng.uniform(0.6, 0.9, 3)
    specular = [1.0, 1.0, 1.0] if difficulty == "shiny" else [0.1, 0.1, 0.1]
    p.changeVisualShape(tray, -1, rgbaColor=[*tray_colour, 1], physicsClientId=client)
    if difficulty == "stripes":
        texture = _texture(p, client, rng)
        p.changeVisualShape(tray, -1, textureUniqueId=texture, rgbaColor=[1, 1, 1, 1], physicsClientId=client)
    for link in links:
        p.changeVisualShape(body, link, rgbaColor=[*colour, 1], specularColor=specular, physicsClientId=client)
        if difficulty == "stripes":
            p.changeVisualShape(body, link, textureUniqueId=texture, physicsClientId=client)


def _texture(p, client, rng) -> int:
    import tempfile

    from PIL import Image

    with tempfile.NamedTemporaryFile(suffix=".png", delete=False) as f:
        Image.fromarray((_stripes(rng) * 255).astype(np.uint8)).save(f.name)
    try:
        return p.loadTexture(f.name, physicsClientId=client)
    finally:
        os.unlink(f.name)


def _photograph(p, client, rng, size: int, difficulty: str, body: int):
    eye = [*rng.normal(0, 0.03, 2), 0.85 + rng.normal(0, 0.03)]
    target = [*rng.normal(0, 0.02, 2), 0.0]
    up_angle = rng.normal(0, 0.1)
    view = p.computeViewMatrix(eye, target, [math.sin(up_angle), math.cos(up_angle), 0])
    projection = p.computeProjectionMatrixFOV(float(rng.uniform(40, 46)), 1.0, NEAR, FAR)
    light = [*rng.uniform(-1, 1, 2), 1.0]
    _, _, rgba, buffer, segmentation = p.getCameraImage(
        size, size, view, projection, lightDirection=light, lightColor=rng.uniform(0.7, 1.0, 3).tolist(),
        lightAmbientCoeff=float(rng.uniform(0.3, 0.6)), lightDiffuseCoeff=float(rng.uniform(0.4, 0.7)),
        lightSpecularCoeff=float(0.9 if difficulty == "shiny" else 0.2), shadow=1,
        renderer=p.ER_TINY_RENDERER, physicsClientId=client)
    rgb = np.asarray(rgba, dtype=np.uint8).reshape(size, size, 4)[..., :3].copy()
    buffer = np.asarray(buffer, dtype=np.float32).reshape(size, size)
    depth = FAR * NEAR / (FAR - (FAR - NEAR) * buffer)  # the z-buffer as metres
    depth = depth + rng.normal(0, 0.0015, depth.shape) * (depth / 0.6) ** 2  # noise grows with distance squared
    if difficulty in ("dark", "shiny"):  # the sensor gets no return from much of the object
        on_object = np.asarray(segmentation).reshape(size, size) == body
        depth[on_object & (rng.random(depth.shape) < 0.6)] = 0.0
    matrices = (np.asarray(view, np.float32).reshape(4, 4), np.asarray(projection, np.float32).reshape(4, 4))
    return rgb, depth.astype(np.float32), *matrices


def world_to_image(point: np.ndarray, view: np.ndarray, projection: np.ndarray) -> np.ndarray:
    """A world point (metres) as the camera sees it: (u, v, depth) with u right and v up in [-1, 1] across the
    image, and depth in metres along the view axis (what the depth channel holds)."""
    camera = np.append(point, 1.0) @ view  # pybullet's matrices are column-major: row vector times view
    depth = -camera[2]
    fx, fy = projection[0, 0], projection[1, 1]
    return np.array([camera[0] * fx / depth, camera[1] * fy / depth, depth])


def image_to_world(u: float, v: float, depth: float, view: np.ndarray, projection: np.ndarray) -> np.ndarray:
    """The inverse of world_to_image: the world point (metres) at image position (u, v) and depth."""
    fx, fy = projection[0, 0], projection[1, 1]
    camera = np.array([u * depth / fx, v * depth / fy, -depth, 1.0])
    return (camera @ np.linalg.inv(view))[:3]


def pixels_to_world(depth: np.ndarray, view: np.ndarray, projection: np.ndarray) -> np.ndarray:
    """Each pixel's point in world metres (H x W x 3) from its depth and the camera's matrices (a calibrated
    camera); pixels without a reading are NaN."""
    h, w = depth.shape
    proj, world_to_camera = projection.T, view.T  # pybullet's matrices are column-major
    fx, fy = proj[0, 0], proj[1, 1]
    u = (np.arange(w) + 0.5) / w * 2 - 1
    v = 1 - (np.arange(h) + 0.5) / h * 2
    x = u[None, :] * depth / fx
    y = v[:, None] * depth / fy
    camera = np.stack([x, y, -depth, np.ones_like(depth)], -1)  # the camera looks down its -z axis
    world = camera @ np.linalg.inv(world_to_camera).T
    world = world[..., :3]
    world[depth <= 0] = np.nan
    return world
