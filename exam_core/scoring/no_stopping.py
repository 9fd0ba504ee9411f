"""科目三: stopping where the road forbids it: on a yellow grid (网状线) or in another
no-stopping area (research/domain.md §2.5 "stops on a crosswalk, yellow grid or other
no-stopping area").

The route map marks both as zones (``yellow_grid``, ``no_stopping``, route maps from
``k3-route-a/3``), so the rule is decided exactly as a stop on a crosswalk is: any stationary
run with some part of the body (from the rear overhang to the front) within the zone's stretch.
"""

from __future__ import annotations

from exam_core.scoring.route_items import stop_on_crosswalk
from exam_core.scoring.route_scene import RouteRuleFunction

stopped_in_zone = stop_on_crosswalk
"""The first frame of each zone of the rule's item with the stopped body on it."""

RULE_FUNCTIONS: dict[str, RouteRuleFunction] = {
    "X30121": stopped_in_zone,
    "X30122": stopped_in_zone,
}
"""Rule code → the rule function that decides it."""

METHODS: dict[str, int] = {}
"""The newest method of each rule decided in more than one way (the others have method 1)."""
