"""A child reporting about themselves (我就是这个孩子) is spoken to as 你, gently, and told
they can stop at any time and that 12355 is free; nobody else is."""

from __future__ import annotations

import re

import pytest

from flows import hant
from flows.dialogue import Dialogue
from flows.events import Command, Event, Press, Text
from flows.intake import Intake
from flows.messages import Button, Outcome
from flows.texts import EN, ZH, t, voiced


class Child:
    """Presses buttons by action and value on the latest prompt, keeping every text said."""

    def __init__(self, intake: Intake, locale: str = "zh") -> None:
        self.intake, self.dlg = intake, Dialogue(locale=locale)
        self.buttons: list[Button] = []
        self.said: list[str] = []

    def send(self, event: Event) -> Outcome:
        out = self.intake.handle(self.dlg, event)
        for reply in out.replies:
            self.said.append(reply.text)
            if reply.buttons:
                self.buttons = [b for row in reply.buttons for b in row]
                self.said.extend(b.label for b in self.buttons)
        return out

    def press(self, action: str, value: str = "") -> Outcome:
        for b in self.buttons:
            _, act, val = b.data.split(":", 2)
            if act == action and (not value or val == value):
                return self.send(Press(b.data))
        raise AssertionError(f"no {action}:{value} in {[b.data for b in self.buttons]}")


def walk_after_role(w: Child, role: str) -> list[str]:
    """A report up to its summary; what was said after the reporter's role was chosen."""
    w.send(Command("start"))
    w.press("mn", "report")
    w.press("dg", "no")
    w.said.clear()
    w.press("rp", role)
    w.send(Text("从化区街口街道"))
    w.press("pk", "440117001000")
    w.press("ag", "12-14")
    w.press("sx", "unknown")
    w.press("cn", "physical")
    w.press("cd")
    w.send(Text("爸爸喝酒以后打我，我不敢回家。"))
    w.press("ct", "phone")
    w.send(Text("13800138000"))
    w.press("cs", "no")
    return w.said


def test_a_child_is_spoken_to_as_you_from_the_role_on(intake: Intake) -> None:
    said = "\n".join(walk_after_role(Child(intake), "child"))
    assert "你现在在哪里" in said and "你几岁了" in said and "你是女孩还是男孩" in said
    assert "能说说发生了什么吗" in said and "看看这样写对不对" in said
    assert "您" not in said, said  # not the formal you, once
    assert "孩子" not in said, said  # not the third person, once
    # Told at once that they may stop, and that 12355 costs nothing.
    assert "随时停下来" in said and "/cancel" in said and "12355" in said and "免费" in said
    assert "不想说" in said  # "don't know" of their own age or sex reads as a choice


def test_an_adult_is_still_asked_about_the_child(intake: Intake) -> None:
    said = "\n".join(walk_after_role(Child(intake), "neighbour"))
    assert "孩子在哪里" in said and "孩子大约几岁" in said
    assert "你现在在哪里" not in said and "随时停下来" not in said


def test_english_speaks_to_the_child_too(intake: Intake) -> None:
    said = "\n".join(walk_after_role(Child(intake, "en"), "child"))
    assert "Where are you now?" in said and "How old are you?" in said
    assert "the child" not in said.lower(), said
    assert "12355" in said and "free" in said


@pytest.mark.parametrize("key", sorted(k for k in ZH if k.startswith("you:")))
def test_every_childs_voice_text_has_its_plain_text_and_fills_the_same(key: str) -> None:
    base = key.removeprefix("you:")
    assert base in ZH and key in EN
    fields = re.compile(r"\{(\w+)\}")
    assert set(fields.findall(ZH[key])) == set(fields.findall(ZH[base]))
    assert "您" not in ZH[key]
    assert voiced(base, child=True) == key and voiced(base, child=False) == base
    assert t("zh-Hant", key) == hant.to_hant(ZH[key])  # derived like every other text
