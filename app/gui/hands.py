"""Which hands a result shows and which one the weight maps and the joint table follow.

A result lists every hand it found in TrackerResult.hands, the primary one first; its own status, location, crop
and pose are the primary hand's. The views draw every hand; the weight maps, the joint table and the selected
joint card show the selected one. A selection is a hand id, or PRIMARY (follow whichever hand is primary); a
selected id that is no longer in the result falls back to the primary. No Qt here: plain functions on app.types.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from app.types import TrackedHand, TrackerResult

PRIMARY = 0   # the selection "the primary hand" (hand ids start at 1)
_STATUS_WORDS = {"tracking": "tracking", "low_confidence": "low confidence", "at_border": "at border"}


def hands_of(result: TrackerResult | None) -> tuple[TrackedHand, ...]:
    """The hands to draw, primary first. A result that lists none but has a pose (made before results listed
    their hands) shows its one hand, with id PRIMARY."""
    if result is None:
        return ()
    if result.hands:
        return tuple(result.hands)
    if result.pose is None:
        return ()
    return (TrackedHand(hand_id=PRIMARY, hand=result.pose.hand, status=result.status, location=result.location,
                        crop=result.crop, crop_depth=result.crop_depth, pose=result.pose),)


def resolve(hands: tuple[TrackedHand, ...], selected_id: int) -> int:
    """The index in hands of the selected hand: the one with selected_id, else the primary (0)."""
    if selected_id != PRIMARY:
        for index, hand in enumerate(hands):
            if hand.hand_id == selected_id:
                return index
    return 0


def still_selectable(result: TrackerResult | None, selected_id: int) -> bool:
    """Whether a selection still names a hand of this result (PRIMARY always does)."""
    return selected_id == PRIMARY or any(h.hand_id == selected_id for h in hands_of(result))


def result_for_hand(result: TrackerResult, selected_id: int) -> TrackerResult:
    """The result as the weight maps and joint table see it: its own when the selection is the primary hand,
    else a copy whose status, location, crop, crop depth and pose are the selected hand's."""
    hands = hands_of(result)
    index = resolve(hands, selected_id)
    if index == 0:
        return result
    hand = hands[index]
    return dataclasses.replace(result, status=hand.status, location=hand.location, crop=hand.crop,
                               crop_depth=hand.crop_depth, pose=hand.pose)


def truth_for_hand(result: TrackerResult, selected_id: int) -> np.ndarray | None:
    """Ground truth of the selected hand (the frame's for the primary, as before; the hand's own otherwise)."""
    hands = hands_of(result)
    index = resolve(hands, selected_id)
    if index == 0:
        return result.frame.gt_xyz_mm
    return hands[index].gt_xyz_mm


def hand_label(hand: TrackedHand) -> str:
    """'R #3' / 'L #4': side and id (the side alone for a hand without an id)."""
    side = "L" if hand.hand == "left" else "R"
    return side if hand.hand_id == PRIMARY else f"{side} #{hand.hand_id}"


def hand_status_text(hand: TrackedHand) -> str:
    """'right #3 tracking', 'left #4 low confidence'."""
    name = hand.hand if hand.hand_id == PRIMARY else f"{hand.hand} #{hand.hand_id}"
    return f"{name} {_STATUS_WORDS.get(hand.status.value, hand.status.value.replace('_', ' '))}"


def hands_status_text(hands: tuple[TrackedHand, ...]) -> str:
    """Every hand's side, id and status: 'right #3 tracking · left #4 low confidence'."""
    return " · ".join(hand_status_text(h) for h in hands)


def worst_status_value(hands: tuple[TrackedHand, ...]) -> str:
    """'tracking' when every hand is tracked cleanly, else the first degraded hand's status value."""
    for hand in hands:
        if hand.status.value != "tracking":
            return hand.status.value
    return "tracking"
