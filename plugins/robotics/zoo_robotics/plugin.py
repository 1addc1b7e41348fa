"""What zoo-robotics contributes. Only specs here: torch, timm and pybullet are imported when an entry is built."""
from dataclasses import dataclass

from zoo import DatasetSpec, ModelSpec, RecipeSpec, hookimpl
from zoo.config import EvaluatedSettings, RoundSettings

PYBULLET = "PyPI pybullet 3.2.7 (zlib licence): its CPU renderer (TinyRenderer), the tray and 1,000 random objects"
RACECAR = "pybullet's racecar (pybullet_data, MIT racecar URDF) on tracks drawn from boxes; drives made while training"
REACHER = "gymnasium's Reacher-v5 (MuJoCo, PyPI mujoco; Apache-2.0 / MIT): episodes of a scripted expert made while training"



@dataclass
class RolloutSettings(EvaluatedSettings, RoundSettings):
    """A policy cloned from an expert's episodes, round by round (DAgger), judged by rolling it out."""


@hookimpl
def zoo_datasets():
    return [
        DatasetSpec(
            name="robotics/tabletop-scenes",
            summary="RGB-D images of one object in a tray (pybullet), hard to see: camouflaged, striped, near-black, "
                    "shiny; labelled with a top-down grasp point",
            factory="zoo_robotics.data:tabletop_scenes", reader="zoo_robotics.data:read_scene",
            task="zoo_robotics.tasks:LocalizationTask", source=PYBULLET, licence="zlib (pybullet and pybullet_data)",
            bring_your_own="not applicable: the scenes are rendered; data.train / data.valid / data.test set how "
                           "many, data.size the image side",
            notes="A random object of pybullet_data's random_urdfs (scaled 0.6-0.9) is dropped into the tray and "
                  "settles for a simulated second; one scene in five of each look: easy (a saturated object on a "
                  "grey tray), camouflage (the tray's colour), stripes (tray and object share a striped texture), "
                  "dark (near-black on dark grey), shiny (strong specular highlights). The light's direction, colour "
                  "and strengths and the camera (0.85 m above, jittered 2-3 cm, rolled, field of view 40-46 deg) "
                  "change per scene. Depth as an RGB-D sensor reports it: noise growing with distance squared "
                  "(1.5 mm at 0.6 m) and no reading on 60% of a dark or shiny object's pixels. The target is the "
                  "point above the object's centre of mass at its top, in cm (tray centre, floor at 0). Rendered "
                  "once per (split, size) and cached: train 2,000, valid 250, test 500 scenes by default. `zoo "
                  "predict RUN scene.npz` (arrays rgb and depth) or scene.png with scene.depth.npy beside it."),
        DatasetSpec(
            name="robotics/reacher-demos",
            summary="MuJoCo Reacher-v5 states labelled with a scripted expert's torques, made while training "
                    "(behaviour cloning, then DAgger rounds)",
            factory="zoo_robotics.data:reacher_demonstrations", reader="zoo_robotics.data:read_observation",
            task="zoo_robotics.tasks:ImitationTask", source=REACHER, licence="Apache-2.0 (MuJoCo), MIT (gymnasium)",
            bring_your_own="--data demos.npz: arrays observations (N x 10, Reacher-v5's layout) and actions (N x 2) "
                           "replace the expert's first episodes",
            notes="The expert: inverse kinematics for the two links, then a PD law on the joint angles (gains 2.0, "
                  "0.3); it reaches within 1 cm in every episode tried. Round 0 records data.demos expert episodes; "
                  "each later round (one per epoch) data.episodes more, driven by the network being trained and "
                  "labelled by the expert (data.dagger=true, DAgger) or driven by the expert (false: behaviour "
                  "cloning on as many labels). The expert's own episodes stray, Gaussian noise of data.noise on its "
                  "torques while its labels stay clean (DART), so a clone sees recoveries. valid/test: the expert's states on fixed episodes (action error); "
                  "the task also rolls the network out on eval_budget fixed starts per split."),
        DatasetSpec(
            name="robotics/racecar-drives",
            summary="camera frames of pybullet's racecar on random closed tracks, labelled with a scripted driver's "
                    "steering, made while training (behaviour cloning, then DAgger rounds)",
            factory="zoo_robotics.data:racecar_drives", reader="zoo_robotics.data:read_camera",
            task="zoo_robotics.tasks:DrivingTask", source=RACECAR, licence="zlib (pybullet), MIT (racecar model)",
            bring_your_own="not applicable: the drives are simulated; `zoo predict RUN frame.png` steers from any "
                           "image (made grey, 48 x 64)",
            notes="Each drive: a new closed track (radius 2.5-3.5 m, random harmonics, so bends both ways) drawn as "
                  "flat boxes (1 m road, white edge lines, green floor), a random start (place, 20 cm off the centre, "
                  "heading off by up to 0.25 rad), data.steps control steps at 10 Hz and 1.3 m/s. The scripted "
                  "driver (pure pursuit, 0.8 m ahead on the centre line, from the true pose) labels every frame. "
                  "Round 0: data.demos of its drives, with Gaussian noise (data.noise rad) on what it steers, not "
                  "on its labels; each later round data.episodes drives by the network (data.dagger=true) or by the "
                  "noisy driver (false). Training frames are mirrored at random with the steering negated."),
    ]


@hookimpl
def zoo_models():
    return [
        ModelSpec(name="robotics/rgbd-resnet", summary="timm ResNet reading RGB-D (4 channels), regressing a point",
                  factory="zoo_robotics.models:rgbd_resnet", task="zoo_robotics.tasks:LocalizationTask",
                  input="N x 4 x H x W: RGB in [0, 1] and depth ((metres - 0.75) x 5, 0 = no reading)",
                  notes="model.arch (a timm ResNet: resnet10t, resnet18, resnet34...), model.drop_rate; from scratch."),
        ModelSpec(name="robotics/mlp-policy", summary="residual MLP policy: observation in, action out",
                  factory="zoo_robotics.models:mlp_policy", task="zoo_robotics.tasks:ImitationTask",
                  input="N x D observations (standardized inside with the expert's statistics)",
                  notes="model.width, model.depth (pre-norm residual blocks, ReLU).",
                  example="zoo_robotics.models:policy_example"),
        ModelSpec(name="robotics/camera-resnet", summary="narrow timm ResNet steering from a grey camera frame",
                  factory="zoo_robotics.models:camera_resnet", task="zoo_robotics.tasks:DrivingTask",
                  input="N x 1 x 48 x 64 uint8 frames (or floats in [0, 1])",
                  notes="resnet10t's shape with model.width channels in its first stage (16: a tenth of the cost), "
                        "model.drop_rate; from scratch.",
                  example="zoo_robotics.models:camera_example"),
    ]


@hookimpl
def zoo_recipes():
    return [
        RecipeSpec(
            name="robotics/object-localization", summary="where is the hard-to-see object? grasp point from one "
            "RGB-D image, median error in cm by difficulty", dataset="robotics/tabletop-scenes",
            model="robotics/rgbd-resnet", task="zoo_robotics.tasks:LocalizationTask",
            defaults={"epochs": 20, "batch_size": 32, "eval_batch_size": 64, "lr": 2e-3, "weight_decay": 0.05,
                      "warmup": 0.1, "data.train": 2000, "data.valid": 250, "data.test": 500, "data.size": 96,
                      "data.target": "image", "model.arch": "resnet18", "model.drop_rate": 0.0,
                      "model.depth_skip": True},
            notes="Baseline (depth segmentation, the largest blob's centroid): zoo_robotics.baselines. "
            "data.target=point regresses the point directly instead of a heatmap and a depth; model.depth_skip "
            "reads the depth off the sensor's nearest reading under the heatmap, corrected by the head."),
        RecipeSpec(
            name="robotics/reacher-bc", summary="imitate a scripted MuJoCo Reacher controller: behaviour cloning, "
            "then DAgger rounds; success rate and return over rollouts", dataset="robotics/reacher-demos",
            model="robotics/mlp-policy", task="zoo_robotics.tasks:ImitationTask",
            task_settings="zoo_robotics.plugin:RolloutSettings",
            defaults={"threads": 1, "grad_stats_every": 0, "epochs": 25, "task.steps_per_round": 150, "batch_size": 256,
                      "eval_batch_size": 1024, "lr": 2e-3, "weight_decay": 1e-4, "warmup": 0.05, "task.eval_budget": 100,
                      "data.demos": 20, "data.episodes": 10, "data.dagger": True, "data.noise": 0.3, "model.width": 256,
                      "model.depth": 3},
            notes="data.dagger=false trains on as many expert-driven episodes instead (plain behaviour cloning)."),
        RecipeSpec(
            name="robotics/racecar-lane", summary="drive pybullet's racecar around unseen tracks from its camera, "
            "cloned from a scripted driver (then DAgger); laps, distance from the centre, interventions",
            dataset="robotics/racecar-drives", model="robotics/camera-resnet", task="zoo_robotics.tasks:DrivingTask",
            task_settings="zoo_robotics.plugin:RolloutSettings",
            defaults={"threads": 1, "grad_stats_every": 0, "epochs": 8, "task.steps_per_round": 150, "batch_size": 64,
                      "eval_batch_size": 256, "lr": 2e-3, "weight_decay": 0.01, "warmup": 0.05, "task.eval_budget": 10,
                      "data.demos": 12, "data.episodes": 8, "data.dagger": True, "data.noise": 0.1, "data.steps": 150,
                      "model.width": 16},
            quick={"data.demos": 1, "data.steps": 20},
            notes="Target (issue 18): a full lap without leaving the road in 9 of 10 drives from random starts."),
    ]
