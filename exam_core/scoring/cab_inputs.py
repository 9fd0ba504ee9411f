"""What telemetry v2 adds to the car's own signals: the in-cab camera's observations and the
in-car computer's voice commands, as the codes the frames carry.

The project does no computer vision: the in-car unit's vision module decides what the camera
sees and signs it, frame by frame, with the rest of the telemetry; the rules score those signed
observations.  The in-car computer issues the spoken commands of the exam (research/domain.md
§3.1: "the in-car computer issues the voice commands"), so each command and its frame are signed
inputs as well.
"""

from __future__ import annotations

# In-cab camera observations (the frame's ``vision`` bits): each holds while the unit sees it.
HEAD_LEFT = 1 << 0
"""Head turned to the left (over the left shoulder or to the left window)."""
HEAD_RIGHT = 1 << 1
HEAD_BACK = 1 << 2
"""Looking back (over the shoulder through the rear window)."""
MIRROR_LEFT = 1 << 3
"""Eyes on the left exterior mirror."""
MIRROR_RIGHT = 1 << 4
MIRROR_INTERIOR = 1 << 5
EYES_OFF_ROAD = 1 << 6
"""Eyes neither on the road ahead nor on a mirror."""
HANDS_OFF_WHEEL = 1 << 7
"""Both hands off the steering wheel."""
BODY_OUT_OF_WINDOW = 1 << 8
LOOKING_AT_GEAR_LEVER = 1 << 9
KNOWN_VISION = (1 << 10) - 1
MIRRORS = MIRROR_LEFT | MIRROR_RIGHT | MIRROR_INTERIOR

# Voice commands (the frame's ``command``: issued at that frame; 0 = none).
START = 1
"""起步: start off."""
GEAR_CHANGE = 3
"""加减挡位操作: change up, then down."""
LANE_CHANGE = 4
"""变更车道."""
PULL_OVER = 5
"""靠边停车."""
TURN_LEFT = 7
TURN_RIGHT = 8
OVERTAKE = 13
U_TURN = 14
LIGHTS_BEGIN = 20
"""灯光模拟 begins: "switch on the headlights" (dipped beam)."""
NIGHT_UNLIT_ROAD = 21
"""Night, no street lights: high beam."""
NIGHT_DIPPED = 22
"""Night, meeting, following closely, a lit road or a lit junction: dipped beam."""
NIGHT_ALTERNATE = 23
"""Night, overtaking, a sharp bend, a crest, an arch bridge, a crosswalk or an uncontrolled
junction: alternate high and low beam."""
NIGHT_ROADSIDE_STOP = 24
"""Night, stopping at the roadside: side lights and hazard lights."""
LIGHTS_END = 25
"""灯光模拟 ends: every light off."""
WIPERS_ON = 30
HAZARD_ON = 31
HEADLIGHTS_ON = 32
NIGHT_BEGINS = 40
"""From here the exam is driven at night (夜间行驶)."""
NIGHT_ENDS = 41

ITEM_COMMANDS = frozenset(
    {START, GEAR_CHANGE, LANE_CHANGE, PULL_OVER, TURN_LEFT, TURN_RIGHT, OVERTAKE, U_TURN}
)
"""Commands that start an item of the route."""
LIGHT_PROMPTS = frozenset(
    {LIGHTS_BEGIN, NIGHT_UNLIT_ROAD, NIGHT_DIPPED, NIGHT_ALTERNATE, NIGHT_ROADSIDE_STOP, LIGHTS_END}
)
"""The prompts of the light simulation (灯光模拟), each answered within 5 s."""
CONTROL_COMMANDS = frozenset({WIPERS_ON, HAZARD_ON, HEADLIGHTS_ON})
"""Commands to work one of the common controls."""
KNOWN_COMMANDS = ITEM_COMMANDS | LIGHT_PROMPTS | CONTROL_COMMANDS | {NIGHT_BEGINS, NIGHT_ENDS}

PEDAL_FULL = 1000
"""Pedal positions are in ‰ of their travel: 0 released, 1000 fully down."""
