from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from annotate.rendering import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str | None) -> SafeString:
    return render_markdown(text)


@register.filter
def get_item(mapping: dict[str, Any] | None, key: str) -> Any:
    if not mapping:
        return None
    return mapping.get(key)


@register.filter
def percent(part: int | None, whole: int | None) -> int:
    if not whole:
        return 0
    return min(100, round(100 * (part or 0) / whole))
