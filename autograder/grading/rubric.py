"""The rubric: which parts are graded and what each is worth, read from one TOML file."""
import tomllib
from dataclasses import dataclass
from pathlib import Path

from autograder.exercise import PART_IDS

DEFAULT_RUBRIC = Path(__file__).resolve().parent.parent / "rubric.toml"
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")  # Gradescope's, for a part's test
# How a part may be checked, for the parts that offer a choice; the first is the default.
# convergence: "trajectory", the loss follows the reference's step by step (so every earlier bug
# costs it too); "threshold", training only has to bring the loss below the lesson's threshold.
MODES = {"convergence": ("trajectory", "threshold")}


class RubricError(ValueError):
    """The rubric file is missing or malformed."""


@dataclass(frozen=True)
class Part:
    id: str
    title: str
    points: float
    visibility: str = "visible"  # when Gradescope shows the part's result to the student
    mode: str = ""  # how the part is checked (MODES), "" for a part that offers no choice


@dataclass(frozen=True)
class Rubric:
    parts: tuple
    part_seconds: float

    @property
    def max_score(self):
        return sum(part.points for part in self.parts)

    def part(self, part_id):
        return next(part for part in self.parts if part.id == part_id)


def load_rubric(path=None):
    path = Path(path) if path else DEFAULT_RUBRIC
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RubricError(f"rubric file not found: {path}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise RubricError(f"cannot read rubric {path}: {error}") from None
    parts = data.get("parts")
    if not isinstance(parts, dict) or not parts:
        raise RubricError(f"{path}: no [parts.ID] tables")
    unknown = sorted(set(parts) - set(PART_IDS))
    if unknown:
        raise RubricError(f"{path}: unknown part ids {unknown}; the parts are {', '.join(PART_IDS)}")
    result = []
    for part_id in (p for p in PART_IDS if p in parts):  # a part left out is not graded
        entry = parts[part_id]
        if not isinstance(entry, dict):
            raise RubricError(f"{path}: parts.{part_id} must be a table ([parts.{part_id}])")
        points = entry.get("points")
        if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
            raise RubricError(f"{path}: parts.{part_id}.points must be a number >= 0, not {points!r}")
        visibility = entry.get("visibility", "visible")
        if visibility not in VISIBILITIES:
            raise RubricError(f"{path}: parts.{part_id}.visibility must be one of {', '.join(VISIBILITIES)}, "
                              f"not {visibility!r}")
        result.append(Part(part_id, str(entry.get("title", part_id)), float(points), visibility,
                           part_mode(path, part_id, entry)))
    seconds = data.get("limits", {}).get("part_seconds", 10)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
        raise RubricError(f"{path}: limits.part_seconds must be a positive number, not {seconds!r}")
    return Rubric(tuple(result), float(seconds))


def part_mode(path, part_id, entry):
    """The part's `mode` setting, checked: one of MODES[part_id], its first by default."""
    choices = MODES.get(part_id, ())
    if "mode" in entry and not choices:
        raise RubricError(f"{path}: parts.{part_id} has no mode to choose (only {', '.join(MODES)} has)")
    mode = entry.get("mode", choices[0] if choices else "")
    if choices and mode not in choices:
        raise RubricError(f"{path}: parts.{part_id}.mode must be one of {', '.join(choices)}, not {mode!r}")
    return mode
