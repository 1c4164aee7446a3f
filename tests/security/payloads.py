"""Stored-XSS payloads: every one tries to run code, make a request, or plant an element.

Each payload has a number ``n`` and, if it works, does at least one of: sets
``window.__xss``, opens a dialog, requests ``/xss-canary/<n>`` from the live server (an
image or an htmx request, which the Content-Security-Policy allows, so an escaping
bug is caught even where CSP would stop a script), or leaves an element with a
``data-xss`` attribute or a ``javascript:`` link in the page. The browser test fails on
any of these.
"""

from __future__ import annotations

import base64

CANARY = "/xss-canary/"

# {js}: JavaScript to run; {n}: the payload's number; {canary}: a same-origin canary URL.
VECTORS = [
    "<script>{js}</script>",
    "<script data-xss>{js}</script>",
    '<img data-xss src=x onerror="{js}">',
    '<img data-xss src="{canary}">',
    "<img src=x onerror={js}//",
    '<svg data-xss onload="{js}"></svg>',
    "<svg><script>{js}</script></svg>",
    '<svg><a data-xss xlink:href="javascript:{js}"><text>x</text></a></svg>',
    '<math><mtext><table><mglyph><style><img data-xss src=x onerror="{js}">',
    '<body data-xss onload="{js}">',
    '<details data-xss open ontoggle="{js}">',
    '<input data-xss autofocus onfocus="{js}">',
    '<video data-xss><source onerror="{js}"></video>',
    '<audio data-xss src=x onerror="{js}"></audio>',
    '<iframe data-xss src="javascript:{js}"></iframe>',
    '<iframe data-xss srcdoc="<script>{js}</script>"></iframe>',
    '<object data-xss data="javascript:{js}"></object>',
    '<embed data-xss src="javascript:{js}">',
    '<a data-xss href="javascript:{js}">click</a>',
    '<a data-xss href="{canary}" ping="{canary}">x</a>',
    '<form data-xss action="javascript:{js}"><button>go</button></form>',
    '<link data-xss rel=stylesheet href="{canary}">',
    "<style>@import '{canary}';</style>",
    '<div data-xss style="background:url({canary})">x</div>',
    '<meta data-xss http-equiv="refresh" content="0;url=javascript:{js}">',
    '<base data-xss href="//xss.invalid/">',
    '"><script>{js}</script>',
    '\'><img data-xss src=x onerror="{js}">',
    '" onmouseover="{js}" data-xss="',
    "' onfocus='{js}' autofocus data-xss='",
    '</textarea><img data-xss src=x onerror="{js}">',
    '</title><img data-xss src=x onerror="{js}">',
    "</script><script>{js}</script>",
    '</script><img data-xss src="{canary}">',
    '</style><img data-xss src="{canary}">',
    '<!--<img data-xss src="--><img data-xss src=x onerror="{js}">',
    '<div data-xss hx-get="{canary}" hx-trigger="load">x</div>',
    '<div data-xss hx-on:htmx:load="{js}">x</div>',
    '<div data-xss hx-on::load="{js}">x</div>',
    '<button data-xss hx-post="{canary}" hx-trigger="load">x</button>',
    '<div data-xss hx-get="https://xss.invalid{canary}" hx-trigger="load">x</div>',
    '<div data-xss hx-trigger="load" hx-get="{canary}" hx-swap="outerHTML">x</div>',
    '<img data-xss src=x hx-on:error="{js}">',
    '<div data-xss data-hx-get="{canary}" data-hx-trigger="load">x</div>',
    '<div data-xss hx-vals=\'js:{{a: {js}}}\' hx-get="{canary}" hx-trigger="load">x</div>',
    "[click me](javascript:{js})",
    "[click me](JaVaScRiPt:{js})",
    "[click me](javascript&#58;{js})",
    "[click me](data:text/html;base64,{b64})",
    "![img](javascript:{js})",
    "![img]({canary})",
    "[ref]: javascript:{js}\n\n[x][ref]",
    "<javascript:{js}>",
    "```html\n<script>{js}</script>\n```",
    '| a | b |\n|---|---|\n| <img data-xss src=x onerror="{js}"> | x |',
    "> <script>{js}</script>",
    "{{{{ 7|add:\"<img data-xss src='{canary}'>\"|safe }}}}",
    '{{% autoescape off %}}<img data-xss src="{canary}">{{% endautoescape %}}',
    '${{alert({n})}}<img data-xss src="{canary}">',
    "{{{{constructor.constructor('{js}')()}}}}",
    "\\u003cscript\\u003e{js}\\u003c/script\\u003e",
    '&lt;script&gt;{js}&lt;/script&gt;<img data-xss src="{canary}">',
    "<scr<script>ipt>{js}</script>",
    '<SCRIPT SRC="{canary}"></SCRIPT>',
    '<script src="data:text/javascript,{js}"></script>',
    '<noscript><p title="</noscript><img data-xss src=x onerror={js}>"></noscript>',
    '<svg><animate data-xss onbegin="{js}" attributeName=x dur=1s></animate></svg>',
    '<img data-xss srcset="{canary} 1x">',
    '<x data-xss contenteditable autofocus onfocusin="{js}">x</x>',
    '<select data-xss autofocus onfocus="{js}"></select>',
    '<template><img data-xss src=x onerror="{js}"></template><img data-xss src="{canary}">',
]

ACTIONS = [
    "window.__xss={n}",
    "alert({n})",
    "fetch('{canary}')",
]


def _payload(vector: str, action: str, n: int) -> str:
    canary = f"{CANARY}{n}"
    js = action.format(n=n, canary=canary)
    b64 = base64.b64encode(f"<script>{js}</script>".encode()).decode()
    return vector.format(js=js, n=n, canary=canary, b64=b64)


def all_payloads() -> list[str]:
    out: list[str] = []
    for vector in VECTORS:
        for action in ACTIONS:
            payload = _payload(vector, action, len(out))
            if payload not in out:
                out.append(payload)
    return out


PAYLOADS = all_payloads()


class PayloadText:
    """``text(field)`` for the world: every field gets payloads, each field a different first one.

    Long fields hold all payloads; short fields are cut by the world to their length and so
    hold the first one or two of their rotation. Records which payload led each field.
    """

    def __init__(self, payloads: list[str] = PAYLOADS) -> None:
        self.payloads = payloads
        self.fields: dict[str, int] = {}

    def __call__(self, field: str) -> str:
        start = len(self.fields) * 7 % len(self.payloads)
        self.fields.setdefault(field, start)
        rotated = self.payloads[start:] + self.payloads[:start]
        return "\n\n".join(rotated)
