"""Course maps: the 科目二 field and the 科目三 route as versioned data in integer millimetres.

Where the lines, bays, poles and zones are is data that changes per exam site, so it lives in
JSON under ``data/maps/`` with a version the scorer signs into ``exam.scored``; the engine is
the same for every site.  The format is documented in ``docs/scoring.md``.  Parsing is strict:
every coordinate an integer, every field known.
"""

from __future__ import annotations

import functools
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from exam_core.errors import ScoringError
from exam_core.scoring.geometry import Point, Segment, VehicleDims
from exam_core.scoring.shipped import load_shipped, shipped_by_version

COURSE_MAP_FORMAT = "exam-integrity/course-map"

K2_ITEMS = ("reverse_parking", "hill_start", "parallel_parking", "s_curve", "right_angle_turn")
LARGE_VEHICLE_ITEMS = ("tunnel", "wet_road")
"""Items of the large-vehicle fields (模拟隧道, 模拟湿滑路)."""
K3_ZONES = (
    "start",
    "straight",
    "lane_change",
    "junction_straight",
    "junction_left",
    "junction_right",
    "crosswalk",
    "school_zone",
    "bus_stop",
    "meeting",
    "overtaking",
    "u_turn",
    "pull_over",
    "yellow_grid",
    "no_stopping",
    "bend",
    "slope",
    "arch_bridge",
)


@dataclass(frozen=True)
class FieldItem:
    """One 科目二 item: its zone and the geometry its rules use (unused parts left empty)."""

    item: str
    zone: tuple[Point, ...]
    lines: tuple[Segment, ...] = ()
    """Lines the body must not touch (倒车入库, 侧方停车 bay lines)."""
    edge_lines: tuple[Segment, ...] = ()
    """Road edge lines a wheel must not touch."""
    bay: tuple[Point, ...] = ()
    control_line: Segment | None = None
    """倒车入库: the front wheels must be past it (on its left) before reversing."""
    pole_line: Segment | None = None
    """坡道: the stop line; the bumper's signed distance is positive beyond it."""
    pole_band_mm: int = 0
    """坡道: half-width of the painted pole line; within it the bumper is on the line."""
    edge_line: Segment | None = None
    """坡道: the right edge line, road on its left."""
    signal_zone: tuple[Point, ...] = ()
    indicator: str = ""
    inside: tuple[Point, ...] = ()
    """模拟隧道, 模拟湿滑路: the tunnel or the wet stretch itself (the zone adds its approach
    and exit)."""
    centre_line: Segment | None = None
    """模拟隧道: the line between the tunnel's two lanes, in driving direction (the car keeps
    to its right)."""


@dataclass(frozen=True)
class FieldCourse:
    """A 科目二 field: items in the order they are driven.

    ``speed_limit_mm_s``, ``road_lines`` (the solid lines of the roads between the items) and
    ``lane_dividers`` are absent (None, ``()``) in maps older than the rules that use them.
    """

    version: str
    vehicle: VehicleDims
    items: tuple[FieldItem, ...]
    speed_limit_mm_s: int | None = None
    road_lines: tuple[Segment, ...] = ()
    lane_dividers: tuple[Segment, ...] = ()
    """The broken lines between two lanes of the same direction on the field's roads (maps
    from ``k2-field-a/3``)."""

    def has(self, name: str) -> bool:
        """The field has the item ``name``."""
        return any(i.item == name for i in self.items)


@dataclass(frozen=True)
class RouteZone:
    """A 科目三 zone: a stretch of the route from ``start`` to ``end`` mm along it."""

    item: str
    start: int
    end: int
    centre: Point | None = None
    """A junction's centre point (路口中心点), where the map marks it."""


@dataclass(frozen=True)
class RouteCourse:
    """A 科目三 route: the right road edge as a polyline, lanes to its left, zones along it."""

    version: str
    vehicle: VehicleDims
    lane_width: int
    lanes: int
    speed_limit_mm_s: int
    reference: tuple[Point, ...]
    zones: tuple[RouteZone, ...] = field(default_factory=tuple)


Course = FieldCourse | RouteCourse


def subject_of(course: Course) -> int:
    """The exam subject a course is for: 2 for the 科目二 field, 3 for the 科目三 route."""
    return 2 if isinstance(course, FieldCourse) else 3


def _int(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ScoringError(f"{where} must be an integer")
    return value


def _point(value: Any, where: str) -> Point:
    if not isinstance(value, list) or len(value) != 2:
        raise ScoringError(f"{where} must be [x, y]")
    return (_int(value[0], where), _int(value[1], where))


def _points(value: Any, where: str, minimum: int) -> tuple[Point, ...]:
    if not isinstance(value, list) or len(value) < minimum:
        raise ScoringError(f"{where} must list at least {minimum} points")
    return tuple(_point(p, f"{where}[{i}]") for i, p in enumerate(value))


def _segment(value: Any, where: str) -> Segment:
    a, b = _points(value, where, 2)[:2]
    if len(value) != 2 or a == b:
        raise ScoringError(f"{where} must be two distinct points")
    return (a, b)


def _polylines(value: Any, where: str) -> tuple[Segment, ...]:
    if not isinstance(value, list):
        raise ScoringError(f"{where} must be a list of polylines")
    out: list[Segment] = []
    for n, line in enumerate(value):
        pts = _points(line, f"{where}[{n}]", 2)
        out.extend(itertools.pairwise(pts))
    return tuple(out)


def _keys(obj: Any, required: set[str], optional: set[str], where: str) -> None:
    if not isinstance(obj, dict):
        raise ScoringError(f"{where} must be an object")
    missing, unknown = required - set(obj), set(obj) - required - optional
    if missing or unknown:
        raise ScoringError(f"{where}: missing {sorted(missing)}, unknown {sorted(unknown)}")


def _vehicle(value: Any) -> VehicleDims:
    names = {"length", "width", "rear_overhang", "wheelbase", "track"}
    _keys(value, names, set(), "vehicle")
    dims = VehicleDims(**{k: _int(value[k], f"vehicle.{k}") for k in names})
    if not 0 < dims.wheelbase < dims.front and 0 < dims.track < dims.width:
        raise ScoringError("vehicle dimensions are not plausible")
    return dims


_ITEM_FIELDS = {
    "lines",
    "edge_lines",
    "bay",
    "control_line",
    "pole_line",
    "pole_band_mm",
    "edge_line",
    "signal_zone",
    "indicator",
    "inside",
    "centre_line",
}


def _field_item(obj: Any, n: int) -> FieldItem:
    where = f"items[{n}]"
    _keys(obj, {"item", "zone"}, _ITEM_FIELDS, where)
    if obj["item"] not in K2_ITEMS + LARGE_VEHICLE_ITEMS:
        raise ScoringError(f"{where}: unknown item {obj['item']!r}")
    indicator = obj.get("indicator", "")
    if indicator not in ("", "left", "right"):
        raise ScoringError(f"{where}: indicator must be left or right")
    opt_segment = {
        k: _segment(obj[k], f"{where}.{k}") if k in obj else None
        for k in ("control_line", "pole_line", "edge_line", "centre_line")
    }
    return FieldItem(
        item=obj["item"],
        zone=_points(obj["zone"], f"{where}.zone", 3),
        lines=_polylines(obj.get("lines", []), f"{where}.lines"),
        edge_lines=_polylines(obj.get("edge_lines", []), f"{where}.edge_lines"),
        bay=_points(obj["bay"], f"{where}.bay", 3) if "bay" in obj else (),
        control_line=opt_segment["control_line"],
        pole_line=opt_segment["pole_line"],
        pole_band_mm=_int(obj.get("pole_band_mm", 0), f"{where}.pole_band_mm"),
        edge_line=opt_segment["edge_line"],
        signal_zone=(
            _points(obj["signal_zone"], f"{where}.signal_zone", 3) if "signal_zone" in obj else ()
        ),
        indicator=indicator,
        inside=_points(obj["inside"], f"{where}.inside", 3) if "inside" in obj else (),
        centre_line=opt_segment["centre_line"],
    )


_REQUIRED_BY_ITEM = {
    "reverse_parking": ("lines", "bay", "control_line"),
    "hill_start": ("pole_line", "edge_line"),
    "parallel_parking": ("lines", "edge_lines", "bay"),
    "s_curve": ("edge_lines",),
    "right_angle_turn": ("edge_lines", "signal_zone", "indicator"),
    "tunnel": ("inside", "centre_line"),
    "wet_road": ("inside",),
}


def parse_course(data: bytes) -> Course:
    """Parse and check a course map; raise ``ScoringError`` on any defect.

    Raises:
        ScoringError: the map is not JSON, not a course map of subject 2 or 3, or has a
            missing, unknown or malformed field; the message names it.
    """
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise ScoringError(f"course map is not JSON: {e}") from e
    if not isinstance(doc, dict) or doc.get("format") != COURSE_MAP_FORMAT:
        raise ScoringError("not a course map")
    version = doc.get("version")
    if not isinstance(version, str) or not version:
        raise ScoringError("course map version must be a non-empty string")
    subject = doc.get("subject")
    if subject == 2:
        _keys(
            doc,
            {"format", "version", "subject", "vehicle", "items"},
            {"speed_limit_mm_s", "roads"},
            "map",
        )
        if not isinstance(doc["items"], list):
            raise ScoringError("items must be a list")
        items = tuple(_field_item(obj, n) for n, obj in enumerate(doc["items"]))
        names = tuple(i.item for i in items)
        if names not in (K2_ITEMS, LARGE_VEHICLE_ITEMS):
            raise ScoringError(
                f"a 科目二 field has the items {K2_ITEMS} or, for large vehicles, "
                f"{LARGE_VEHICLE_ITEMS}, in this order"
            )
        for item in items:
            for name in _REQUIRED_BY_ITEM[item.item]:
                if not getattr(item, name):
                    raise ScoringError(f"item {item.item} needs {name}")
        limit = doc.get("speed_limit_mm_s")
        if limit is not None and _int(limit, "speed_limit_mm_s") <= 0:
            raise ScoringError("speed_limit_mm_s must be positive")
        roads: tuple[Segment, ...] = ()
        dividers: tuple[Segment, ...] = ()
        if "roads" in doc:
            _keys(doc["roads"], {"solid_lines"}, {"lane_dividers"}, "roads")
            roads = _polylines(doc["roads"]["solid_lines"], "roads.solid_lines")
            dividers = _polylines(doc["roads"].get("lane_dividers", []), "roads.lane_dividers")
            if any(a == b for a, b in dividers):
                raise ScoringError("roads.lane_dividers has a repeated point")
        return FieldCourse(version, _vehicle(doc["vehicle"]), items, limit, roads, dividers)
    if subject == 3:
        _keys(
            doc,
            {"format", "version", "subject", "vehicle", "road", "reference", "zones"},
            set(),
            "map",
        )
        road = doc["road"]
        _keys(road, {"lane_width", "lanes", "speed_limit_mm_s"}, set(), "road")
        reference = _points(doc["reference"], "reference", 2)
        if any(a == b for a, b in itertools.pairwise(reference)):
            raise ScoringError("reference has a repeated point")
        if not isinstance(doc["zones"], list):
            raise ScoringError("zones must be a list")
        zones = []
        for n, z in enumerate(doc["zones"]):
            _keys(z, {"item", "from", "to"}, {"centre"}, f"zones[{n}]")
            if z["item"] not in K3_ZONES:
                raise ScoringError(f"zones[{n}]: unknown item {z['item']!r}")
            start, end = _int(z["from"], f"zones[{n}].from"), _int(z["to"], f"zones[{n}].to")
            if not 0 <= start < end:
                raise ScoringError(f"zones[{n}]: from must be below to")
            centre = None
            if "centre" in z:
                if not z["item"].startswith("junction_"):
                    raise ScoringError(f"zones[{n}]: only a junction has a centre point")
                centre = _point(z["centre"], f"zones[{n}].centre")
            zones.append(RouteZone(z["item"], start, end, centre))
        return RouteCourse(
            version=version,
            vehicle=_vehicle(doc["vehicle"]),
            lane_width=_int(road["lane_width"], "road.lane_width"),
            lanes=_int(road["lanes"], "road.lanes"),
            speed_limit_mm_s=_int(road["speed_limit_mm_s"], "road.speed_limit_mm_s"),
            reference=reference,
            zones=tuple(sorted(zones, key=lambda z: (z.start, z.end, z.item))),
        )
    raise ScoringError(f"course map subject must be 2 or 3, not {subject!r}")


DEFAULT_MAPS = {2: "k2-field-a-v3.json", 3: "k3-route-a-v3.json"}
LARGE_VEHICLE_MAP = "k2-field-l-v1.json"
"""The shipped 科目二 field of the large vehicles (licence classes A1, A2, A3, B1, B2)."""


@functools.lru_cache(maxsize=64)
def load_course(name: str) -> Course:
    """A course map shipped with the package, by file name."""
    return load_shipped("maps", name, parse_course, "course map")


@functools.lru_cache(maxsize=64)
def course_by_version(version: str) -> Course:
    """The shipped course map with this version (as signed into ``exam.scored``)."""
    return shipped_by_version("maps", version, parse_course, "course map")
