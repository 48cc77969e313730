"""Clicking a live button as a person does: once its label can be read."""

import re

from playwright.sync_api import Locator, expect

JUST_CHANGED = re.compile("just-changed")


def click_once_read(button: Locator) -> None:
    """Click `button` once its label is older than half a second. A younger label ignores the
    click, so nobody does the opposite of what they read (static/pages/js/asseen.js; the guard's
    own test: tests/test_desk_ui.py, the hold button that flips under the pointer)."""
    expect(button).not_to_have_class(JUST_CHANGED)
    button.click()
