"""microRTS (Santiago Ontañón's real-time strategy game, in Java) as a gymnasium-style environment.

The game is the `microrts.jar` that PyPI's `gym-microrts` source distribution ships (with CoacAI's `Coac.jar`
and the maps), driven in this process through JPype on Debian's headless OpenJDK 17. The Java virtual machine
starts once per process (JPype cannot start a second one) and stays up.

What the agent sees and does follows Huang et al.'s Gym-microRTS "Gridnet" (CoG 2021), written here afresh:
- an observation of 27 one-hot planes per map cell: hit points (0-4+), resources carried (0-4+), owner (none,
  self, enemy), unit type (none, resource, base, barracks, worker, light, heavy, ranged), current action (none,
  move, harvest, return, produce, attack);
- an action per cell, 7 numbers: action type (6), move, harvest, return and produce directions (4 each), unit
  type to produce (7), and the attacked cell in the 7 x 7 window around the unit (49); only cells holding one of
  the agent's idle units act;
- invalid-action masks per cell over those 78 choices (microRTS's own UnitAction.getValidActionArray), and a
  flag of the cells that may act.
Player 1 sees the map turned by 180 degrees (and acts in that frame: directions and attack offsets turn too), so
that both sides start from the same corner: one network plays either side.
"""
from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zoo import ZooError

JAVA_PACKAGE = "openjdk-17-jre-headless"
PIP = "gym-microrts==0.4.3"
JARS = ("microrts.jar", "Coac.jar")
PLANES = (5, 5, 3, 8, 6)  # hit points, resources, owner, unit type, current action
NUM_PLANES = sum(PLANES)
NVEC = (6, 4, 4, 4, 4, 7, 49)  # action type, move, harvest, return, produce direction, produce type, attack cell
NUM_CHOICES = sum(NVEC)
OFFSETS = tuple(int(x) for x in np.cumsum((0,) + NVEC[:-1]))
WINDOW = 7  # the attack window (microRTS: 2 x the longest attack range + 1)
TYPE_NAMES = ("noop", "move", "harvest", "return", "produce", "attack")
OPPONENTS = {  # the built-in bots, by the names zoo uses: (class, takes the unit type table)
    "randombiased": ("ai.RandomBiasedAI", False),
    "workerrush": ("ai.abstraction.WorkerRush", True),
    "lightrush": ("ai.abstraction.LightRush", True),
    "coacai": ("ai.coac.CoacAI", True),
    "passive": ("ai.PassiveAI", False),
}

_JVM = {"starts": 0}


def microrts_home() -> Path:
    """The folder of microrts.jar, Coac.jar and maps/ (inside the installed gym-microrts package, which is never
    imported: its Python needs the old gym)."""
    spec = importlib.util.find_spec("gym_microrts")
    home = Path(spec.origin).parent / "microrts" if spec and spec.origin else None
    if home is None or not (home / JARS[0]).is_file():
        raise ZooError(f"games/microrts needs microrts.jar from the gym-microrts source distribution: "
                       f"pip install --no-deps {PIP}")
    return home


def start_jvm() -> None:
    """Start the Java virtual machine with microRTS on its class path, once per process. A missing Java is one
    line naming the Debian package."""
    try:
        import jpype
    except ImportError:
        raise ZooError("games/microrts needs JPype1: pip install JPype1") from None
    if jpype.isJVMStarted():
        return
    home = microrts_home()
    try:
        jvm = jpype.getDefaultJVMPath()
    except Exception:  # JVMNotFoundException, or JAVA_HOME pointing nowhere
        raise ZooError(f"games/microrts needs Java 17: apt-get install {JAVA_PACKAGE} "
                       f"(or set JAVA_HOME to a Java 17 runtime)") from None
    if not Path(jvm).exists():
        raise ZooError(f"games/microrts: no Java runtime at {jvm}: apt-get install {JAVA_PACKAGE}")
    jpype.startJVM(jvm, "-Djava.awt.headless=true", classpath=[str(home / j) for j in JARS], convertStrings=False)
    _JVM["starts"] += 1
    import jpype.imports  # noqa: F401 - Java packages become importable
    from java.io import OutputStream, PrintStream
    from java.lang import System
    quiet = PrintStream(OutputStream.nullOutputStream())  # the bots print warnings on every other move
    System.setOut(quiet)
    System.setErr(quiet)


def jvm_starts() -> int:
    """How many times this process started the JVM (0 or 1)."""
    return _JVM["starts"]


class _Java:
    """The Java classes, imported once the JVM is up."""

    def __init__(self):
        start_jvm()
        import jpype
        import jpype.imports  # noqa: F401
        from rts import GameState, PhysicalGameState, PlayerAction, UnitAction
        from rts.units import UnitTypeTable

        self.jpype, self.GameState, self.PhysicalGameState = jpype, GameState, PhysicalGameState
        self.PlayerAction, self.UnitAction = PlayerAction, UnitAction
        self.utt = UnitTypeTable()
        self.IntArray = jpype.JArray(jpype.JInt)
        self.IntArray2 = jpype.JArray(jpype.JInt, 2)


_J: list[_Java] = []


def java() -> _Java:
    if not _J:
        _J.append(_Java())
    return _J[0]


def resolve_map(name: str) -> Path:
    """A map by name (basesWorkers8x8, 16x16/basesWorkers16x16) among microRTS's maps, or a map file (.xml) of
    the user's; anything else is one line saying what there is."""
    path = Path(name)
    if path.suffix == ".xml":
        if not path.is_file():
            raise ZooError(f"{name}: no such map file")
        return path
    maps = microrts_home() / "maps"
    found = sorted(maps.rglob(f"{path.name}.xml")) if path.name else []
    exact = [f for f in found if str(f.relative_to(maps)).removesuffix(".xml").endswith(str(path))]
    if not exact:
        raise ZooError(f"{name}: not a microRTS map (e.g. basesWorkers8x8, basesWorkers16x16, or a map .xml file)")
    return exact[0]


def make_bot(name: str):
    """A built-in bot by name (see OPPONENTS)."""
    key = name.lower().replace("_", "").replace("-", "")
    if key not in OPPONENTS:
        raise ZooError(f"--opponent {name}: not a microRTS bot (one of {', '.join(OPPONENTS)})")
    j = java()
    klass = j.jpype.JClass(OPPONENTS[key][0])
    return klass(j.utt) if OPPONENTS[key][1] else klass()


# -- turning player 1's view by 180 degrees ----------------------------------------------------------------
_TURN = np.arange(NUM_CHOICES)
for _k in range(1, 5):  # the four direction parameters: up <-> down, left <-> right
    _TURN[OFFSETS[_k]:OFFSETS[_k] + 4] = OFFSETS[_k] + (np.arange(4) + 2) % 4
_TURN[OFFSETS[6]:] = OFFSETS[6] + (NVEC[6] - 1 - np.arange(NVEC[6]))  # attack offsets mirror through the centre


def turn_masks(masks: np.ndarray) -> np.ndarray:
    """H x W x 78 masks (or logits) seen from the other side."""
    return masks[::-1, ::-1][..., _TURN]


def turn_actions(actions: np.ndarray) -> np.ndarray:
    """H x W x 7 actions seen from the other side (an involution)."""
    a = actions[::-1, ::-1].copy()
    a[..., 1:5] = (a[..., 1:5] + 2) % 4
    a[..., 6] = NVEC[6] - 1 - a[..., 6]
    return a


class Game:
    """One microRTS game between player 0 and player 1, with the agent's view of it from either side."""

    def __init__(self, map_path: Path, max_steps: int = 2000):
        j = self.j = java()
        try:
            self.pgs = j.PhysicalGameState.load(str(map_path), j.utt)
        except Exception as err:  # noqa: BLE001 - a user's map file that microRTS cannot read
            raise ZooError(f"{map_path}: not a microRTS map ({type(err).__name__})") from None
        self.gs = j.GameState(self.pgs, j.utt)
        self.height, self.width = int(self.pgs.getHeight()), int(self.pgs.getWidth())
        self.max_steps, self.steps, self.over = max_steps, 0, False

    # -- what a side sees ---------------------------------------------------------------------------------
    def observe(self, player: int) -> np.ndarray:
        """27 x H x W uint8 one-hot planes from `player`'s side (turned for player 1)."""
        raw = np.array(self.gs.getMatrixObservation(player))  # 5 x H x W
        raw[2][raw[3] == 1] = 0  # resources belong to no one (microRTS's encoding gives them to player 1)
        planes = np.zeros((NUM_PLANES, self.height, self.width), np.uint8)
        start = 0
        for k, size in enumerate(PLANES):
            value = np.clip(raw[k], 0, size - 1)
            np.put_along_axis(planes[start:start + size], value[None], 1, axis=0)
            start += size
        return planes[:, ::-1, ::-1].copy() if player else planes

    def masks(self, player: int) -> tuple[np.ndarray, np.ndarray]:
        """(H x W bool: the cells of `player`'s idle units, H x W x 78 bool: the valid choices there)."""
        j = self.j
        ready = np.zeros((self.height, self.width), bool)
        masks = np.zeros((self.height, self.width, NUM_CHOICES), bool)
        for u in self.gs.getUnits():
            if u.getPlayer() == player and self.gs.getActionAssignment(u) is None:
                arr = j.IntArray(NUM_CHOICES)
                j.UnitAction.getValidActionArray(u, self.gs, j.utt, arr, WINDOW, 0)
                y, x = int(u.getY()), int(u.getX())
                ready[y, x], masks[y, x] = True, np.asarray(arr, dtype=np.int32) > 0
        if player:
            return ready[::-1, ::-1].copy(), turn_masks(masks).copy()
        return ready, masks

    # -- actions --------------------------------------------------------------------------------------------
    def from_grid(self, player: int, actions: np.ndarray, ready: np.ndarray):
        """A PlayerAction from `player`'s H x W x 7 grid (in its own view) at the ready cells."""
        j = self.j
        if player:
            actions, ready = turn_actions(actions), ready[::-1, ::-1]
        ys, xs = np.nonzero(ready)
        rows = [[int(y * self.width + x)] + [int(v) for v in actions[y, x]] for y, x in zip(ys, xs)]
        pa = j.PlayerAction.fromActionArrays(j.IntArray2(rows) if rows else j.IntArray2(0), self.gs, j.utt,
                                             player, WINDOW).m_a
        pa.fillWithNones(self.gs, player, 1)
        return pa

    def to_grid(self, player: int, pa) -> np.ndarray:
        """A bot's PlayerAction as `player`'s H x W x 7 grid (in its own view); idle units it gave no action to
        do nothing."""
        grid = np.zeros((self.height, self.width, len(NVEC)), np.int64)
        centre = WINDOW // 2
        for pair in pa.getActions():
            u, ua = pair.m_a, pair.m_b
            y, x, kind = int(u.getY()), int(u.getX()), int(ua.getType())
            if kind >= len(TYPE_NAMES):
                continue
            cell = grid[y, x]
            cell[0] = kind
            if kind in (1, 2, 3, 4):
                cell[kind] = max(int(ua.getDirection()), 0)
            if kind == 4:
                cell[5] = int(ua.getUnitType().ID)
            if kind == 5:
                dx, dy = int(ua.getLocationX()) - x + centre, int(ua.getLocationY()) - y + centre
                cell[6] = min(max(dy, 0), WINDOW - 1) * WINDOW + min(max(dx, 0), WINDOW - 1)
        return turn_actions(grid) if player else grid

    def step(self, pa0, pa1) -> bool:
        """Issue both sides' actions and advance one game cycle; whether the game is over."""
        self.gs.issueSafe(pa0)
        self.gs.issueSafe(pa1)
        self.over = bool(self.gs.cycle())
        self.steps += 1
        return self.over or self.steps >= self.max_steps

    def winner(self) -> int:
        """0 or 1, or -1 for a draw (or a game cut at max_steps)."""
        return int(self.gs.winner()) if self.over else -1


class MicroRTSEnv:
    """A gymnasium-style microRTS environment: the agent plays `side` against a built-in bot on `map`.

    reset(seed) -> (obs 27 x H x W uint8, info) and step(actions H x W x 7) -> (obs, reward, terminated,
    truncated, info); info holds `ready` (H x W bool) and `masks` (H x W x 78 bool). The reward is +1 for a
    win, -1 for a loss, at the end (a game cut at max_steps is truncated, reward 0)."""

    def __init__(self, map: str = "basesWorkers8x8", opponent: str = "workerrush", side: int = 0,
                 max_steps: int = 2000):
        if side not in (0, 1):
            raise ZooError(f"side must be 0 or 1, got {side}")
        self.map_path, self.opponent, self.side, self.max_steps = resolve_map(map), opponent, side, max_steps
        self.bot = make_bot(opponent)
        self.game: Game | None = None
        probe = Game(self.map_path)
        self.height, self.width = probe.height, probe.width

    def _info(self) -> dict:
        ready, masks = self.game.masks(self.side)
        return {"ready": ready, "masks": masks, "step": self.game.steps}

    def reset(self, seed: int | None = None, options=None):
        self.game = Game(self.map_path, self.max_steps)
        self.bot = make_bot(self.opponent)
        return self.game.observe(self.side), self._info()

    def step(self, actions: np.ndarray):
        if self.game is None:
            raise ZooError("step before reset")
        actions = np.asarray(actions)
        if actions.shape != (self.height, self.width, len(NVEC)):
            raise ZooError(f"actions must be {self.height} x {self.width} x {len(NVEC)}, got {actions.shape}")
        ready, _ = self.game.masks(self.side)
        mine = self.game.from_grid(self.side, actions, ready)
        theirs = self.bot.getAction(1 - self.side, self.game.gs)
        pair = (mine, theirs) if self.side == 0 else (theirs, mine)
        done = self.game.step(*pair)
        winner = self.game.winner()
        reward = 0.0 if winner < 0 else (1.0 if winner == self.side else -1.0)
        terminated = self.game.over
        return self.game.observe(self.side), reward, terminated, done and not terminated, self._info()


# -- many games in lockstep -----------------------------------------------------------------------------
# a policy: (obs N x 27 x H x W uint8, ready N x H x W, masks N x H x W x 78) -> actions N x H x W x 7
Policy = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass
class Played:
    """Per game: the winner from the agent's side (1 win, 0 draw, -1 loss) and its length; with `expert`, every
    state the agent met (obs, ready, masks) and the expert's grid there; with `film`, game 0's frames."""

    results: np.ndarray
    steps: np.ndarray
    obs: list = field(default_factory=list)
    ready: list = field(default_factory=list)
    masks: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    frames: list = field(default_factory=list)


def play(agent: Policy | str, opponents: Sequence[str], sides: Sequence[int], map: str = "basesWorkers8x8",
         max_steps: int = 2000, expert: str | None = None, film: bool = False) -> Played:
    """One game per (opponent, side), all stepped together so that a network sees a batch. `agent` is a
    policy or a bot's name (a bot plays as it would). With `expert` (a bot's name), every state where the
    agent had an idle unit is kept with that bot's action there (the bot only labels unless it is the agent)."""
    if len(opponents) != len(sides):
        raise ValueError("one side per opponent")
    path = resolve_map(map)
    games = [Game(path, max_steps) for _ in opponents]
    foes = [make_bot(o) for o in opponents]
    bots = [make_bot(agent) for _ in opponents] if isinstance(agent, str) else None
    labellers = bots if (expert is not None and isinstance(agent, str) and expert == agent) else \
        ([make_bot(expert) for _ in opponents] if expert else None)
    out = Played(np.zeros(len(games), np.int64), np.zeros(len(games), np.int64))
    live = list(range(len(games)))
    while live:
        views = [(games[i].observe(sides[i]), *games[i].masks(sides[i])) for i in live]
        if film and live[0] == 0:
            out.frames.append(games[0].observe(0))
        chosen: dict[int, object] = {}
        if labellers is not None or bots is not None:
            for k, i in enumerate(live):
                label_pa = None
                if labellers is not None:
                    label_pa = labellers[i].getAction(sides[i], games[i].gs)
                    if views[k][1].any():
                        out.obs.append(views[k][0])
                        out.ready.append(views[k][1])
                        out.masks.append(views[k][2])
                        out.labels.append(games[i].to_grid(sides[i], label_pa))
                if bots is not None:
                    chosen[i] = label_pa if labellers is bots else bots[i].getAction(sides[i], games[i].gs)
        if bots is None:
            acts = agent(np.stack([v[0] for v in views]), np.stack([v[1] for v in views]),
                         np.stack([v[2] for v in views]))
            for k, i in enumerate(live):
                chosen[i] = games[i].from_grid(sides[i], np.asarray(acts[k]), views[k][1])
        still = []
        for i in live:
            theirs = foes[i].getAction(1 - sides[i], games[i].gs)
            done = games[i].step(*((chosen[i], theirs) if sides[i] == 0 else (theirs, chosen[i])))
            if done:
                w = games[i].winner()
                out.results[i] = 0 if w < 0 else (1 if w == sides[i] else -1)
                out.steps[i] = games[i].steps
                if film and i == 0:
                    out.frames.append(games[0].observe(0))
            else:
                still.append(i)
        live = still
    return out


# -- pictures ----------------------------------------------------------------------------------------------
_COLOURS = {1: (0, 160, 0), 2: (200, 200, 200), 3: (120, 120, 120), 4: (230, 230, 230), 5: (240, 200, 60),
            6: (200, 120, 40), 7: (120, 200, 240)}  # resource, base, barracks, worker, light, heavy, ranged
_OWNER = {1: (60, 110, 230), 2: (220, 60, 60)}  # player 0 blue, player 1 red


def render(obs: np.ndarray, cell: int = 24) -> np.ndarray:
    """One frame (player 0's view, 27 x H x W planes) as an RGB picture: resources green, player 0's units
    outlined blue, player 1's red; buildings fill their cell, units are discs."""
    from PIL import Image, ImageDraw

    h, w = obs.shape[1:]
    start = np.cumsum((0,) + PLANES)
    owner = obs[start[2]:start[3]].argmax(0)
    kind = obs[start[3]:start[4]].argmax(0)
    image = Image.new("RGB", (w * cell, h * cell), (30, 30, 30))
    draw = ImageDraw.Draw(image)
    for y in range(h):
        for x in range(w):
            box = (x * cell + 1, y * cell + 1, (x + 1) * cell - 2, (y + 1) * cell - 2)
            draw.rectangle(box, outline=(55, 55, 55))
            k = int(kind[y, x])
            if not k:
                continue
            fill, line = _COLOURS.get(k, (255, 0, 255)), _OWNER.get(int(owner[y, x]), (0, 0, 0))
            if k in (1, 2, 3):
                draw.rectangle(box, fill=fill, outline=line, width=3)
            else:
                draw.ellipse(box, fill=fill, outline=line, width=3)
    return np.asarray(image)


def write_film(frames: Sequence[np.ndarray], stem: Path, strip: int = 8) -> list[Path]:
    """A game as STEM.gif (every 4th frame) and STEM.png, a strip of `strip` frames spread over the game."""
    from PIL import Image

    stem.parent.mkdir(parents=True, exist_ok=True)
    pictures = [Image.fromarray(render(f)) for f in frames]
    gif, png = stem.with_suffix(".gif"), stem.with_suffix(".png")
    shown = pictures[::4] + ([pictures[-1]] if (len(pictures) - 1) % 4 else [])
    partial = gif.with_name(gif.name + ".partial")
    shown[0].save(partial, format="GIF", save_all=True, append_images=shown[1:], duration=60, loop=0)
    partial.replace(gif)
    picks = sorted({round(i * (len(pictures) - 1) / max(strip - 1, 1)) for i in range(strip)})
    w, h = pictures[0].size
    sheet = Image.new("RGB", (len(picks) * (w + 4), h), (255, 255, 255))
    for n, i in enumerate(picks):
        sheet.paste(pictures[i], (n * (w + 4), 0))
    sheet.save(png)
    return [gif, png]

