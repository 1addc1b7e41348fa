"""A simulated top-down grasp with pybullet's Franka Panda at a predicted point: did the object come up?

The scene is rebuilt exactly as it was rendered (same seed, index and draws), the arm is placed beside the tray,
its open hand put 15 cm above the point pointing down (turned by a yaw about the vertical: at 0 the fingers close
along y), lowered to 7 cm below the point (its fingertips kept 4 mm above the tray floor), closed, and lifted
20 cm. Success: the object rose at least 8 cm. At one yaw, a long object lying across the fingers' opening (8 cm)
cannot be picked. `yaw_lifts` tries each of YAWS at the labelled point: the labels of the network's yaw head
(data.yaws=true).
"""
from __future__ import annotations

import math

import numpy as np

from . import scenes

HAND = 11  # panda_grasptarget: between the fingertips
FINGERS = (9, 10)
DOWN = (math.pi, 0.0, 0.0)  # the hand pointing at the floor
DEPTH = 0.07  # how far below the point the fingertips close
FINGERTIPS = 0.009  # how far the fingers reach below the hand's grasp target
CLEARANCE = 0.004  # the fingertips stay this far above the floor: fingers dragged on it cannot close
# the arm's joint limits and a rest pose (elbow up, hand down) that inverse kinematics stays near
LOWER = [-2.9671, -1.8326, -2.9671, -3.1416, -2.9671, -0.0873, -2.9671, 0.0, 0.0]
UPPER = [2.9671, 1.8326, 2.9671, 0.0, 2.9671, 3.8223, 2.9671, 0.04, 0.04]
REST = [0.0, -0.3, 0.0, -2.2, 0.0, 2.0, 0.8, 0.04, 0.04]
YAWS = (0.0, math.pi / 4, math.pi / 2, 3 * math.pi / 4)  # the hand is the same turned half a turn


def _joints_for(p, client, robot, point, yaw: float = 0.0, iterations: int = 100) -> list[float]:
    """Joint angles that put the hand at `point` pointing down, turned by `yaw` about the vertical, within the
    joints' limits."""
    down = p.getQuaternionFromEuler((DOWN[0], DOWN[1], yaw))
    return p.calculateInverseKinematics(robot, HAND, point, down, lowerLimits=LOWER,
                                        upperLimits=UPPER, jointRanges=[u - lo for u, lo in zip(UPPER, LOWER)],
                                        restPoses=REST, maxNumIterations=iterations, physicsClientId=client)


def _move(p, client, robot, point, steps: int, grip: float, yaw: float = 0.0) -> None:
    """Drive the arm (position control) to put the hand at `point`, fingers at `grip` (m each, 0.04 open)."""
    joints = _joints_for(p, client, robot, point, yaw)
    for j in range(7):
        p.setJointMotorControl2(robot, j, p.POSITION_CONTROL, joints[j], force=1200, physicsClientId=client)
    for f in FINGERS:
        p.setJointMotorControl2(robot, f, p.POSITION_CONTROL, grip, force=60, physicsClientId=client)
    for _ in range(steps):
        p.stepSimulation(physicsClientId=client)


def grasp_trial(seed: int, index: int, point: np.ndarray, urdf: str | None = None, yaw: float = 0.0) -> bool:
    """Whether a top-down grasp at `point` (world metres), the hand turned by `yaw` (radians about the vertical),
    lifts scene (seed, index)'s object."""
    for attempt in range(5):  # the same draws as scenes.render_scene, so the same scene
        rng = np.random.default_rng([seed, index, attempt])
        p, client = scenes.connect()
        try:
            try:
                body, *_ = scenes.settle(p, client, rng, urdf)
            except scenes.LeftTray:
                continue
            rest = p.getBasePositionAndOrientation(body, physicsClientId=client)[0][2]
            p.changeDynamics(body, -1, lateralFriction=1.0, physicsClientId=client)
            with scenes.quiet():
                robot = p.loadURDF("franka_panda/panda.urdf", [-0.6, 0, 0], useFixedBase=True,
                                   physicsClientId=client)
            x, y, z = (float(v) for v in point)
            above = [x, y, z + 0.15]
            for j in range(7):  # from the rest pose, so that inverse kinematics starts near it
                p.resetJointState(robot, j, REST[j], physicsClientId=client)
            start = _joints_for(p, client, robot, above, yaw, 200)
            for j in range(7):  # start poised above the point (the approach is not what is being tested)
                p.resetJointState(robot, j, start[j], physicsClientId=client)
            for f in FINGERS:
                p.resetJointState(robot, f, 0.04, physicsClientId=client)
                p.changeDynamics(robot, f, lateralFriction=1.5, physicsClientId=client)  # rubber fingertips
            _move(p, client, robot, above, 60, 0.04, yaw)
            low = [x, y, max(z - DEPTH, scenes.FLOOR_Z + FINGERTIPS + CLEARANCE)]
            _move(p, client, robot, low, 240, 0.04, yaw)
            _move(p, client, robot, low, 120, 0.0, yaw)
            _move(p, client, robot, [x, y, z + 0.2], 360, 0.0, yaw)
            lifted = p.getBasePositionAndOrientation(body, physicsClientId=client)[0][2] - rest
            return bool(np.isfinite(lifted) and lifted >= 0.08)
        finally:
            p.disconnect(physicsClientId=client)
    return False


def yaw_lifts(seed: int, index: int, point: np.ndarray) -> np.ndarray:
    """1 or 0 for each of YAWS: whether a grasp at `point` with the hand turned so lifts scene (seed, index)'s
    object."""
    return np.array([grasp_trial(seed, index, point, yaw=yaw) for yaw in YAWS], dtype=np.float32)
